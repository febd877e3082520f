import type { FieldError } from '../common/errors/domain-error';
import type { ProblemSpec, VariableSpec } from '../optimizer-contract/algorithm';
import {
  type AlgorithmError,
  InvalidOptionsError,
  InvalidProblemError,
  type ProblemLocation,
} from '../optimizer-contract/algorithm-errors';
import { EngineMapping } from './engine-mapping';
import { isMultiple, type StudyDefinition, validateStudyDefinition } from './search-space-validator';

/** What a study's engine problem takes besides the space: NOMAD's MAX_BB_EVAL and SEED. */
export interface SearchSpaceRun {
  maxEvaluations: number | null;
  seed: number;
}

/** The parse of a definition: the space and its engine problem, or every error with the user's field path. */
export type SearchSpaceParse =
  { ok: true; space: SearchSpace; problem: ProblemSpec } | { ok: false; errors: FieldError[] };

/** The user's name of each field of an engine variable (ParameterDefinition's). */
const PARAMETER_FIELD: Record<keyof VariableSpec, string> = {
  type: 'type',
  lowerBound: 'lower',
  upperBound: 'upper',
  granularity: 'granularity',
  fixedValue: 'fixed',
};

/**
 * A study's search space as the engine sees it: engine variable i is parameter i of the
 * definition (derived parameters are not variables), and the engine mapping translates points
 * both ways.
 */
export class SearchSpace {
  readonly mapping: EngineMapping;
  private engineVariables: VariableSpec[] | null = null;

  private constructor(readonly definition: StudyDefinition) {
    this.mapping = new EngineMapping(definition.parameters, definition.derived, definition.outputs);
  }

  /**
   * The space of a definition already checked: `parseSearchSpace`'s, or a stored study's (parsed
   * when the study was created, and a study's space never changes), so it is not checked again.
   */
  static of(definition: StudyDefinition): SearchSpace {
    return new SearchSpace(definition);
  }

  get variables(): readonly VariableSpec[] {
    this.engineVariables ??= this.mapping.variables();
    return this.engineVariables;
  }

  /** The parameter that engine variable `variable` is. */
  parameterName(variable: number): string {
    return this.definition.parameters[variable].name;
  }

  /** The engine problem of this space (the engine validates it when it starts, Mads.create / RandomSearch.create). */
  problem(run: SearchSpaceRun): ProblemSpec {
    return this.mapping.problem(this.definition.x0, run.maxEvaluations, run.seed);
  }

  /** The engine variables of the unordered categorical parameters: MADS polls every other category of each. */
  categoricalVariables(): number[] {
    return this.definition.parameters.flatMap((parameter, index) => (parameter.type === 'categorical' ? [index] : []));
  }

  /**
   * Why `value` is not a coordinate of engine variable `variable` (bounds, fixed value, integer,
   * grid), or null: for engine points a user gives directly (a NOMAD cache file). The grid is
   * checked to the tolerance of every user-given value (search-space-validator's isMultiple).
   */
  coordinateReason(variable: number, value: number): string | null {
    const spec = this.variables[variable];
    if (
      (spec.lowerBound !== null && value < spec.lowerBound) ||
      (spec.upperBound !== null && value > spec.upperBound)
    ) {
      return 'is outside the bounds';
    }
    if (spec.fixedValue !== null && value !== spec.fixedValue) return `must equal the fixed value ${spec.fixedValue}`;
    if (spec.type !== 'R' && !Number.isInteger(value)) return 'must be an integer';
    if (spec.granularity > 0 && !isMultiple(value, spec.granularity)) {
      return `must be a multiple of the granularity ${spec.granularity}`;
    }
    return null;
  }

  /**
   * The user's field for a place in the engine problem: variable i is `parameters[i]` (its
   * bounds `lower` / `upper`, `fixed`…), an X0 coordinate is that parameter of `x0[k]` (or the
   * parameter itself when X0 is the default centre), outputs are `outputs`.
   */
  fieldOf(at: ProblemLocation): string {
    switch (at.part) {
      case 'variables':
        if (at.variable === undefined) return 'parameters';
        return `parameters[${at.variable}]${at.key === undefined ? '' : `.${PARAMETER_FIELD[at.key]}`}`;
      case 'outputTypes':
        return at.output === undefined ? 'outputs' : `outputs[${at.output}].type`;
      case 'x0':
        if (this.definition.x0.length === 0)
          return at.variable === undefined ? 'parameters' : `parameters[${at.variable}]`;
        if (at.point === undefined) return 'x0';
        return `x0[${at.point}]${at.variable === undefined ? '' : `.${this.parameterName(at.variable)}`}`;
      case 'maxEvaluations':
        return 'budget.maxEvaluations';
      case 'seed':
        return 'algorithm.seed';
      case 'problem':
        return 'parameters';
    }
  }
}

/**
 * The user's field for an error the engine raised on this space's problem or on the options it
 * was started with, or null for any other error. The problem's errors are named from their
 * location (`variables[i].lowerBound` is `parameters[i].lower`); options are given under
 * `algorithm` (CreateStudyDto), so `directionType` is `algorithm.directionType`.
 */
export function engineFieldError(space: SearchSpace, error: AlgorithmError): FieldError | null {
  if (error instanceof InvalidProblemError) return { field: space.fieldOf(error.location), reason: error.reason };
  if (error instanceof InvalidOptionsError) {
    // The API derives `categoricalVariables` from the categorical parameters (study-engine.ts); no user passes it.
    if (error.option === 'categoricalVariables') return { field: 'parameters', reason: error.reason };
    const field = error.option === null ? 'algorithm' : `algorithm.${error.option}${error.within}`;
    return { field, reason: error.reason };
  }
  return null;
}

/**
 * The one parse of a study's search space (docs/architecture.md, "Search space"), for every way a
 * study is made (POST /v1/studies, and the NOMAD import through it): the user's rules
 * (search-space-validator.ts: every error at once, each with its field), then the engine problem,
 * which the engine validates once when it starts (in the engine host thread). The user's rules
 * accept no definition the engine refuses (test/property/search-space.property.spec.ts); should
 * the engine refuse one anyway, `engineFieldError` names the user's field from the error's data.
 */
export function parseSearchSpace(definition: StudyDefinition, run: SearchSpaceRun): SearchSpaceParse {
  const errors = validateStudyDefinition(definition);
  if (errors.length > 0) return { ok: false, errors };
  const space = SearchSpace.of(definition);
  return { ok: true, space, problem: space.problem(run) };
}
