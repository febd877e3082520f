import type { OutputType, ProblemSpec, VariableSpec } from '../optimizer-contract/algorithm';
import { DerivedExpression } from './derived-expression';
import type {
  DerivedParameter,
  OutputDefinition,
  ParameterDefinition,
  ParameterValue,
  UserPoint,
} from './search-space';

/**
 * The one place where user space (parameter values as runners use them) and engine space
 * (the vectors MADS works on) are translated, both ways:
 * - real: the value itself, or its log10 for log-scale reals (granularity then applies to log10);
 * - integer: the value itself (NOMAD type I);
 * - ordinal and categorical: the 0-based index into `values` (NOMAD type I);
 * - fixed parameters: NOMAD's FIXED_VARIABLE at the engine value of the fixed user value;
 * - derived parameters: computed from the others in user space, never seen by the engine.
 */
export class EngineMapping {
  private readonly derived: { name: string; expression: DerivedExpression }[];

  constructor(
    readonly parameters: readonly ParameterDefinition[],
    derived: readonly DerivedParameter[],
    readonly outputs: readonly OutputDefinition[],
  ) {
    this.derived = derived.map((entry) => ({
      name: entry.name,
      expression: DerivedExpression.parse(entry.expression),
    }));
  }

  get dimension(): number {
    return this.parameters.length;
  }

  variables(): VariableSpec[] {
    return this.parameters.map((parameter) => {
      const fixedValue = parameter.fixed === undefined ? null : this.toEngineValue(parameter, parameter.fixed);
      switch (parameter.type) {
        case 'real':
          return {
            type: 'R',
            lowerBound: parameter.log ? Math.log10(parameter.lower!) : parameter.lower!,
            upperBound: parameter.log ? Math.log10(parameter.upper!) : parameter.upper!,
            granularity: parameter.granularity ?? 0,
            fixedValue,
          };
        case 'integer':
          return {
            type: 'I',
            lowerBound: parameter.lower!,
            upperBound: parameter.upper!,
            granularity: Math.max(parameter.granularity ?? 1, 1),
            fixedValue,
          };
        case 'ordinal':
        case 'categorical':
          return { type: 'I', lowerBound: 0, upperBound: parameter.values!.length - 1, granularity: 1, fixedValue };
      }
    });
  }

  outputTypes(): OutputType[] {
    return this.outputs.map((output) => {
      switch (output.type) {
        case 'objective':
          return 'OBJ';
        case 'constraint_pb':
          return 'PB';
        case 'constraint_eb':
          return 'EB';
        case 'extra':
          return 'EXTRA_O';
      }
    });
  }

  problem(x0: readonly UserPoint[], maxEvaluations: number | null, seed: number): ProblemSpec {
    const points = x0.length > 0 ? x0.map((point) => this.toEngine(point)) : [this.centre()];
    return { variables: this.variables(), outputTypes: this.outputTypes(), x0: points, maxEvaluations, seed };
  }

  /** The default X0 when the user gives none: the middle of every range, on its grid. */
  centre(): number[] {
    return this.variables().map((variable) => {
      if (variable.fixedValue !== null) return variable.fixedValue;
      const lower = variable.lowerBound!;
      const upper = variable.upperBound!;
      const middle = (lower + upper) / 2;
      if (variable.granularity > 0) {
        const onGrid = Math.round(middle / variable.granularity) * variable.granularity;
        return Math.min(upper, Math.max(lower, roundNoise(onGrid)));
      }
      return middle;
    });
  }

  toEngineValue(parameter: ParameterDefinition, value: ParameterValue): number {
    switch (parameter.type) {
      case 'real': {
        const engineValue = parameter.log ? Math.log10(value as number) : (value as number);
        const granularity = parameter.granularity ?? 0;
        // A value the validator accepted as a multiple (within 1e-9) lands exactly on the engine's grid.
        return granularity > 0 ? roundNoise(Math.round(engineValue / granularity) * granularity) : engineValue;
      }
      case 'integer':
        return value as number;
      case 'ordinal':
      case 'categorical': {
        const index = parameter.values!.indexOf(value);
        if (index < 0) throw new RangeError(`${JSON.stringify(value)} is not a value of ${parameter.name}`);
        return index;
      }
    }
  }

  /** A validated user point → engine vector (fixed parameters take their fixed value). */
  toEngine(point: UserPoint): number[] {
    return this.parameters.map((parameter) =>
      this.toEngineValue(parameter, parameter.fixed ?? (point[parameter.name] as ParameterValue)),
    );
  }

  /** Engine vector → the values a runner uses, derived parameters included. */
  toUser(x: readonly number[]): UserPoint {
    const point: UserPoint = {};
    const numeric: Record<string, number> = {};
    this.parameters.forEach((parameter, index) => {
      const value = this.toUserValue(parameter, x[index]);
      point[parameter.name] = value;
      if (typeof value === 'number') numeric[parameter.name] = value;
    });
    for (const { name, expression } of this.derived) {
      const value = roundNoise(expression.evaluate(numeric));
      point[name] = value;
      numeric[name] = value;
    }
    return point;
  }

  /** The first derived parameter of a runner's point that is not a finite number (x / 0, log of a negative), or null. */
  nonFiniteDerived(point: Readonly<UserPoint>): { name: string; value: unknown } | null {
    for (const { name } of this.derived) {
      const value = point[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) return { name, value };
    }
    return null;
  }

  private toUserValue(parameter: ParameterDefinition, value: number): ParameterValue {
    if (parameter.fixed !== undefined) return parameter.fixed;
    switch (parameter.type) {
      case 'real':
        return roundNoise(parameter.log ? 10 ** value : value);
      case 'integer':
        return Math.round(value);
      case 'ordinal':
      case 'categorical':
        return parameter.values![Math.round(value)];
    }
  }

  /** Reported outputs by name → engine vector in outputTypes order; maximised objectives are negated. */
  toEngineOutputs(outputs: Readonly<Record<string, number>>): number[] {
    return this.outputs.map((output) => {
      const value = Object.hasOwn(outputs, output.name) ? outputs[output.name] : Number.NaN;
      return output.type === 'objective' && output.goal === 'maximize' ? -value : value;
    });
  }
}

/** Drops binary floating-point noise (0.30000000000000004 → 0.3) from values shown to users. */
export function roundNoise(value: number): number {
  return Number.isFinite(value) ? Number.parseFloat(value.toPrecision(15)) : value;
}

/** Canonical text of an engine point, unique per study (no point is evaluated twice). */
export function pointKey(x: readonly number[]): string {
  return x.map((value) => roundNoise(value).toString()).join(',');
}
