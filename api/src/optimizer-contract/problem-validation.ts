/**
 * Validation of a ProblemSpec against NOMAD's rules (NOMAD 4.5.1, src/Param/PbParameters.cpp,
 * `PbParameters::checkAndComply`; src/Type/BBOutputType.cpp). Throws InvalidProblemError with a
 * field path and its location as data (from which the API names the user's field,
 * search-space/search-space-parse.ts). The engines run it first thing (Mads.create,
 * RandomSearch.create): once per new study, in the engine host.
 */
import type { EvaluationResult, ProblemSpec, VariableSpec } from './algorithm';
import { InvalidProblemError, InvalidResultError, type ProblemLocation } from './algorithm-errors';
import { isMultipleOf } from '../math/numerics';

const OUTPUT_TYPES = new Set(['OBJ', 'PB', 'EB', 'EXTRA_O']);
const VARIABLE_TYPES = new Set(['R', 'I', 'B']);

function fail(at: ProblemLocation, reason: string): never {
  throw new InvalidProblemError(at, reason);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function validateProblem(problem: ProblemSpec): void {
  if (problem === null || typeof problem !== 'object') fail({ part: 'problem' }, 'must be an object');
  if (!Array.isArray(problem.variables) || problem.variables.length === 0) {
    fail({ part: 'variables' }, 'at least one variable is required (DIMENSION > 0)');
  }
  problem.variables.forEach((v, i) => {
    const at = (key?: keyof VariableSpec): ProblemLocation => ({ part: 'variables', variable: i, key });
    if (v === null || typeof v !== 'object') fail(at(), 'must be an object');
    if (!VARIABLE_TYPES.has(v.type)) fail(at('type'), "must be 'R', 'I' or 'B'");
    if (v.lowerBound !== null && !isFiniteNumber(v.lowerBound))
      fail(at('lowerBound'), 'must be a finite number or null');
    if (v.upperBound !== null && !isFiniteNumber(v.upperBound))
      fail(at('upperBound'), 'must be a finite number or null');
    if (v.lowerBound !== null && v.upperBound !== null) {
      if (v.lowerBound > v.upperBound) fail(at('lowerBound'), 'lower bound exceeds upper bound');
      if (v.lowerBound === v.upperBound) fail(at('upperBound'), 'equal bounds: use fixedValue (FIXED_VARIABLE)');
    }
    if (!isFiniteNumber(v.granularity) || v.granularity < 0) fail(at('granularity'), 'must be a finite number ≥ 0');
    if (v.type === 'I' && !Number.isInteger(v.granularity)) fail(at('granularity'), 'must be an integer for type I');
    if (v.fixedValue !== null && !isFiniteNumber(v.fixedValue))
      fail(at('fixedValue'), 'must be a finite number or null');
    if (v.fixedValue !== null) checkValue(problem, i, v.fixedValue, at('fixedValue'), false);
  });
  if (!Array.isArray(problem.outputTypes) || problem.outputTypes.length === 0)
    fail({ part: 'outputTypes' }, 'must be a non-empty array');
  problem.outputTypes.forEach((t, j) => {
    if (!OUTPUT_TYPES.has(t)) fail({ part: 'outputTypes', output: j }, "must be 'OBJ', 'PB', 'EB' or 'EXTRA_O'");
  });
  if (problem.outputTypes.filter((t) => t === 'OBJ').length !== 1)
    fail({ part: 'outputTypes' }, 'exactly one OBJ is required');
  if (!Array.isArray(problem.x0) || problem.x0.length === 0)
    fail({ part: 'x0' }, 'at least one starting point is required');
  problem.x0.forEach((x, k) => {
    if (!Array.isArray(x) || x.length !== problem.variables.length) {
      fail({ part: 'x0', point: k }, `must have ${problem.variables.length} coordinates`);
    }
    x.forEach((v, i) => checkValue(problem, i, v, { part: 'x0', point: k, variable: i }, true));
  });
  if (problem.maxEvaluations !== null && (!Number.isInteger(problem.maxEvaluations) || problem.maxEvaluations < 1)) {
    fail({ part: 'maxEvaluations' }, 'must be a positive integer or null');
  }
  if (!Number.isInteger(problem.seed) || problem.seed < 0 || problem.seed > 1_000_000) {
    fail({ part: 'seed' }, 'must be an integer in [0, 1000000]');
  }
}

function effectiveGranularity(problem: ProblemSpec, i: number): number {
  const v = problem.variables[i];
  if (v.type === 'B') return 1;
  if (v.type === 'I') return Math.max(v.granularity, 1);
  return v.granularity;
}

function checkValue(
  problem: ProblemSpec,
  i: number,
  value: unknown,
  path: ProblemLocation,
  mustMatchFixed: boolean,
): void {
  const v = problem.variables[i];
  if (!isFiniteNumber(value)) fail(path, 'must be a finite number');
  const lb = v.type === 'B' ? 0 : v.lowerBound;
  const ub = v.type === 'B' ? 1 : v.upperBound;
  if (lb !== null && value < lb) fail(path, `below the lower bound ${lb}`);
  if (ub !== null && value > ub) fail(path, `above the upper bound ${ub}`);
  const g = effectiveGranularity(problem, i);
  if (g > 0 && !isMultipleOf(value, g)) fail(path, `not a multiple of the granularity ${g}`);
  if (mustMatchFixed && v.fixedValue !== null && value !== v.fixedValue) {
    fail(path, `must equal the fixed value ${v.fixedValue}`);
  }
}

/** A told result must be a full-dimension vector of finite numbers with the right output count. */
export function validateResult(problem: ProblemSpec, r: EvaluationResult, index: number): void {
  const p = `results[${index}]`;
  if (r === null || typeof r !== 'object' || !Array.isArray(r.x))
    throw new InvalidResultError(`${p}.x`, 'must be an array');
  if (r.x.length !== problem.variables.length) {
    throw new InvalidResultError(`${p}.x`, `must have ${problem.variables.length} coordinates`);
  }
  if (r.x.some((v) => !isFiniteNumber(v))) throw new InvalidResultError(`${p}.x`, 'coordinates must be finite numbers');
  if (r.outputs !== null && !Array.isArray(r.outputs))
    throw new InvalidResultError(`${p}.outputs`, 'must be an array or null');
  if (r.outputs !== null && r.outputs.some((v) => typeof v !== 'number')) {
    throw new InvalidResultError(`${p}.outputs`, 'outputs must be numbers (NaN allowed)');
  }
  if (r.censoredBelow !== undefined) {
    if (!isFiniteNumber(r.censoredBelow)) throw new InvalidResultError(`${p}.censoredBelow`, 'must be a finite number');
    if (r.outputs !== null)
      throw new InvalidResultError(`${p}.censoredBelow`, 'is only for a failed evaluation (outputs null)');
  }
}
