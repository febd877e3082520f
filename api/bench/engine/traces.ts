/** What one optimisation run leaves behind, for either solver, and how the profile reads it. */
import type { OutputType } from '../../src/optimizer-contract/algorithm';
import type { TraceEvaluation } from './data-profile';

export interface RunTrace {
  problemId: string;
  seed: number;
  /** Evaluated points and their outputs, in evaluation order; null outputs = failed. */
  x: number[][];
  outputs: (number[] | null)[];
  /** Solver time for the run (for MADS: ask + tell only; for NOMAD: all of PyNomad.optimize). */
  seconds: number;
  stopReason: string;
  /** Reference runs: 'tpe' = Optuna's TPE; absent = NOMAD (or MADS). */
  solver?: 'nomad' | 'tpe' | 'smac';
  /** Points in flight at once (runners; NOMAD's BB_MAX_BLOCK_SIZE); 1 = sequential. */
  blockSize?: number;
  /** NOMAD block runs: the blackbox call (block) of each evaluation. */
  blocks?: number[];
  /**
   * Wall-clock time each evaluation finished, in units of the mean evaluation time
   * (parallel.ts); evaluations are listed in the order they finished.
   */
  times?: number[];
}

/**
 * NOMAD's feasibility test (NOMAD 4.5.1, src/Eval/Eval.cpp, `Eval::computeHStandard`): a constraint
 * counts as violated when c > ε with ε = 1e-13, and a feasible point has no violated PB or EB
 * constraint.
 */
const CONSTRAINT_EPSILON = 1e-13;

export function toTraceEvaluation(
  outputTypes: readonly OutputType[],
  outputs: readonly number[] | null,
): TraceEvaluation {
  if (outputs === null) return { f: NaN, feasible: false };
  let f = NaN;
  let feasible = true;
  outputTypes.forEach((type, i) => {
    const value = outputs[i];
    if (type === 'OBJ') f = value;
    if ((type === 'PB' || type === 'EB') && !(value <= CONSTRAINT_EPSILON)) feasible = false;
  });
  return { f, feasible: feasible && Number.isFinite(f) };
}
