/**
 * Standard test functions with known optima, run with the default MADS (ORTHO N+1 QUAD,
 * speculative + quadratic model + Nelder–Mead searches). Sources of the optima:
 * - Rosenbrock: H. H. Rosenbrock, Comput. J. 3(3):175–184, 1960; f* = 0 at (1, 1).
 * - Beale, Powell singular, Brown badly scaled: J. J. Moré, B. S. Garbow, K. E. Hillstrom,
 *   "Testing unconstrained optimization software", ACM TOMS 7(1):17–41, 1981, problems 5, 13
 *   and 4: Beale f* = 0 at (3, 0.5); Powell singular f* = 0 at 0; Brown f* = 0 at (1e6, 2e-6).
 * - NOMAD's constrained 5-D example (NOMAD 4.5.1, `examples/basic/batch/example2`):
 *   f = x5, Σ(xi−1)² ≤ 25, Σ(xi+1)² ≥ 25, f* = −4 at (1, 1, 1, 1, −4).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutputType, VariableSpec } from '../optimizer-contract/algorithm';
import { Mads, type MadsOptions } from './index';

function real(lb: number | null, ub: number | null): VariableSpec {
  return { type: 'R', lowerBound: lb, upperBound: ub, granularity: 0, fixedValue: null };
}

function minimize(
  variables: VariableSpec[],
  x0: number[],
  blackbox: (x: number[]) => number[],
  budget: number,
  outputTypes: OutputType[] = ['OBJ'],
  options: Partial<MadsOptions> = {},
  batch = 1,
): Mads {
  const mads = Mads.create({ variables, outputTypes, x0: [x0], maxEvaluations: budget, seed: 1 }, options);
  while (mads.stopReason === null) {
    const asked = mads.ask(batch);
    if (asked.length === 0) break;
    mads.tell(asked.map((s) => ({ x: s.x, outputs: blackbox(s.x) })));
  }
  return mads;
}

const rosenbrock = (x: number[]): number[] => [100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2];
const beale = ([a, b]: number[]): number[] => [
  (1.5 - a + a * b) ** 2 + (2.25 - a + a * b * b) ** 2 + (2.625 - a + a * b ** 3) ** 2,
];
const powell = ([a, b, c, d]: number[]): number[] => [
  (a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4,
];

test('Rosenbrock 2-D from (-1.2, 1): f < 1e-6 within 500 evaluations', () => {
  const mads = minimize([real(-10, 10), real(-10, 10)], [-1.2, 1], rosenbrock, 500);
  assert.ok((mads.bestFeasible()?.f ?? Infinity) < 1e-6, `f = ${mads.bestFeasible()?.f}`);
});

test('Beale from (1, 1): f < 1e-6 within 500 evaluations', () => {
  const mads = minimize([real(-4.5, 4.5), real(-4.5, 4.5)], [1, 1], beale, 500);
  const best = mads.bestFeasible();
  assert.ok(best !== null && best.f < 1e-6, `f = ${best?.f}`);
  assert.ok(Math.abs(best.x[0] - 3) < 1e-2 && Math.abs(best.x[1] - 0.5) < 1e-2);
});

test('Powell singular 4-D from (3, -1, 0, 1), unbounded: f < 1e-4 within 800 evaluations', () => {
  const mads = minimize(
    [real(null, null), real(null, null), real(null, null), real(null, null)],
    [3, -1, 0, 1],
    powell,
    800,
  );
  assert.ok((mads.bestFeasible()?.f ?? Infinity) < 1e-4, `f = ${mads.bestFeasible()?.f}`);
});

/** NOMAD's constrained 5-D example: f = x5, c1 = Σ(x − 1)² − 25 ≤ 0, c2 = 25 − Σ(x + 1)² ≤ 0. */
const nomadConstrained = (x: number[]): number[] => [
  x[4],
  x.reduce((s, v) => s + (v - 1) ** 2, 0) - 25,
  25 - x.reduce((s, v) => s + (v + 1) ** 2, 0),
];

const constrainedCases: [string, OutputType[]][] = [
  [
    'NOMAD constrained 5-D example (OBJ PB EB, infeasible X0): reaches f < -3.9 in 600 evaluations',
    ['OBJ', 'PB', 'EB'],
  ],
  [
    'same constrained problem with all constraints PB: the progressive barrier finds a feasible f < -3.9',
    ['OBJ', 'PB', 'PB'],
  ],
];
for (const [title, outputTypes] of constrainedCases) {
  test(title, () => {
    const mads = minimize(
      [real(-6, 5), real(-6, 6), real(-6, 7), real(-6, null), real(-6, null)],
      [0, 0, 0, 0, 0],
      nomadConstrained,
      600,
      outputTypes,
    );
    const best = mads.bestFeasible();
    assert.ok(best !== null && best.f < -3.9, `f = ${best?.f}`);
  });
}

test('mixed integer: integer and granular variables reach the discrete optimum', () => {
  const bb = (x: number[]): number[] => [(x[0] - 7) ** 2 + (x[1] - 0.35) ** 2 + (x[2] - 2.5) ** 2];
  const mads = minimize(
    [
      { type: 'I', lowerBound: 0, upperBound: 20, granularity: 0, fixedValue: null },
      { type: 'R', lowerBound: 0, upperBound: 1, granularity: 0.05, fixedValue: null },
      real(-5, 5),
    ],
    [0, 0.9, 0],
    bb,
    300,
  );
  const best = mads.bestFeasible();
  assert.ok(best !== null);
  assert.equal(best.x[0], 7);
  assert.ok(Math.abs(best.x[1] - 0.35) < 1e-12);
  assert.ok(best.f < 1e-6, `f = ${best.f}`);
});

test('asynchronous batches of 4 still solve Rosenbrock (f < 1e-4 in 800 evaluations)', () => {
  const mads = minimize([real(-10, 10), real(-10, 10)], [-1.2, 1], rosenbrock, 800, ['OBJ'], {}, 4);
  assert.ok((mads.bestFeasible()?.f ?? Infinity) < 1e-4, `f = ${mads.bestFeasible()?.f}`);
});
