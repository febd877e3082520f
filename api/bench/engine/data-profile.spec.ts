import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bestFeasibleSoFar,
  dataProfile,
  evaluationsToSolve,
  problemReference,
  type ProfileProblem,
  type TraceEvaluation,
} from './data-profile';

const feasible = (...values: number[]): TraceEvaluation[] => values.map((f) => ({ f, feasible: true }));
const infeasible = (f: number): TraceEvaluation => ({ f, feasible: false });

/** n = 1, X0 feasible with f(x0) = 10; B finds the best value 0.2. */
const smooth: ProfileProblem = {
  id: 'smooth',
  dimension: 1,
  f0: 10,
  runs: { A: [feasible(10, 5, 1, 0.5)], B: [feasible(10, 8, 0.2)] },
};

/** n = 2, X0 infeasible: first feasible values are 4 (A) and 6 (B), so f0 := 6; f_L = 1. */
const constrained: ProfileProblem = {
  id: 'constrained',
  dimension: 2,
  f0: null,
  runs: {
    A: [[infeasible(-5), ...feasible(4, 2, 3)]],
    B: [[infeasible(-5), infeasible(6), ...feasible(6, 1)]],
  },
};

describe('data profile (Moré & Wild)', () => {
  it('tracks the best feasible value, ignoring infeasible and failed evaluations', () => {
    assert.deepEqual(bestFeasibleSoFar([infeasible(-9), { f: NaN, feasible: false }, ...feasible(3, 4, 1)]), [
      Infinity,
      Infinity,
      3,
      3,
      1,
    ]);
  });

  it('uses the best value of any run and f(x0), or the worst first feasible value', () => {
    const smoothReference = problemReference(smooth, 0.5);
    assert.deepEqual([smoothReference.fBest, smoothReference.f0], [0.2, 10]);
    assert.ok(Math.abs((smoothReference.threshold ?? NaN) - 5.1) < 1e-12);
    assert.deepEqual(problemReference(constrained, 0.5), { fBest: 1, f0: 6, threshold: 3.5 });
  });

  it('counts the evaluations each run needs to pass the test', () => {
    // τ = 0.5: thresholds 5.1 and 3.5.
    assert.deepEqual(evaluationsToSolve(smooth, 0.5), { A: [2], B: [3] });
    assert.deepEqual(evaluationsToSolve(constrained, 0.5), { A: [3], B: [4] });
    // τ = 1e-3: thresholds 0.2098 and 1.005; only B gets there.
    assert.deepEqual(evaluationsToSolve(smooth, 1e-3), { A: [Infinity], B: [3] });
    assert.deepEqual(evaluationsToSolve(constrained, 1e-3), { A: [Infinity], B: [4] });
  });

  it('gives the share of instances solved within α·(n+1) evaluations', () => {
    // α = 1 allows 2 evaluations on `smooth` (n = 1) and 3 on `constrained` (n = 2).
    assert.deepEqual(dataProfile([smooth, constrained], ['A', 'B'], 0.5, [1, 2]), [
      { simplexGradients: 1, shareSolved: { A: 1, B: 0 } },
      { simplexGradients: 2, shareSolved: { A: 1, B: 1 } },
    ]);
    assert.deepEqual(dataProfile([smooth, constrained], ['A', 'B'], 1e-3, [1, 2]), [
      { simplexGradients: 1, shareSolved: { A: 0, B: 0 } },
      { simplexGradients: 2, shareSolved: { A: 0, B: 1 } },
    ]);
  });

  it('treats every seed as an instance and a problem nobody made feasible as unsolved', () => {
    const seeds: ProfileProblem = {
      id: 'seeds',
      dimension: 1,
      f0: 10,
      runs: { A: [feasible(10, 0), feasible(10, 10, 10)], B: [feasible(10, 10, 0)] },
    };
    const hopeless: ProfileProblem = {
      id: 'hopeless',
      dimension: 1,
      f0: null,
      runs: { A: [[infeasible(1)]], B: [[infeasible(2)]] },
    };
    assert.deepEqual(evaluationsToSolve(hopeless, 1e-3), { A: [Infinity], B: [Infinity] });
    assert.deepEqual(dataProfile([seeds, hopeless], ['A', 'B'], 1e-3, [1, 2]), [
      { simplexGradients: 1, shareSolved: { A: 1 / 3, B: 0 } },
      { simplexGradients: 2, shareSolved: { A: 1 / 3, B: 1 / 2 } },
    ]);
  });
});
