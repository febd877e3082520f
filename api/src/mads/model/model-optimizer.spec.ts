/**
 * The inner MADS that minimises quadratic models (§4.3 step 3; NOMAD 4.5.1,
 * src/Algos/QuadModel/QuadModelOptimize.cpp).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import type { FH } from '../barrier';
import { NomadRng } from '../../math/rng';
import { minimizeInBox, type ModelOptimizerOptions } from './model-optimizer';

function options(seed = 0, maxEval = 2000): ModelOptimizerOptions {
  return { maxEval, rng: NomadRng.fromSeed(seed), frameRounding: 'nomad' };
}

test('finds the minimiser of a convex quadratic inside the box', () => {
  const model = (x: readonly number[]): FH => ({
    f: (x[0] - 0.3) ** 2 + 2 * (x[1] + 0.45) ** 2 + 0.5 * (x[0] - 0.3) * (x[1] + 0.45),
    h: 0,
  });
  for (const seed of [0, 1, 7]) {
    const opt = minimizeInBox(model, [-1, -1], [1, 1], [0, 0], options(seed));
    assert.ok(opt.bestFeasible !== null);
    assert.ok(Math.abs(opt.bestFeasible.x[0] - 0.3) < 1e-5, `seed ${seed}: x0 = ${opt.bestFeasible.x[0]}`);
    assert.ok(Math.abs(opt.bestFeasible.x[1] + 0.45) < 1e-5, `seed ${seed}: x1 = ${opt.bestFeasible.x[1]}`);
    assert.equal(opt.bestInfeasible, null);
  }
});

test('a minimiser outside the box ends on the bound; a zero-width coordinate stays fixed', () => {
  const model = (x: readonly number[]): FH => ({ f: (x[0] - 5) ** 2 + (x[1] - 2) ** 2 + x[2], h: 0 });
  const opt = minimizeInBox(model, [-1, 1.5, 0], [1, 2.5, 0], [0, 2, 0], options());
  assert.ok(opt.bestFeasible !== null);
  assert.equal(opt.bestFeasible.x[0], 1);
  assert.ok(Math.abs(opt.bestFeasible.x[1] - 2) < 1e-6);
  assert.equal(opt.bestFeasible.x[2], 0);
});

test('handles model constraints with the progressive barrier (infeasible start)', () => {
  // min x + y subject to x² + y² ≤ 1: optimum −√2 at (−1/√2, −1/√2). Start (1.5, 1.5) is infeasible.
  const model = (x: readonly number[]): FH => {
    const c = x[0] ** 2 + x[1] ** 2 - 1;
    return { f: x[0] + x[1], h: c > 1e-13 ? c * c : 0 };
  };
  const opt = minimizeInBox(model, [-2, -2], [2, 2], [1.5, 1.5], options(3));
  assert.ok(opt.bestFeasible !== null);
  assert.ok(opt.bestFeasible.f < -Math.SQRT2 + 1e-4, `f = ${opt.bestFeasible.f}`);
  assert.ok(opt.bestFeasible.h < 1e-13); // feasible in NOMAD's sense (§1.4)
});

test('stops at QUAD_MODEL_MAX_EVAL (within one block) and draws from the given RNG', () => {
  let calls = 0;
  const model = (x: readonly number[]): FH => {
    calls++;
    return { f: Math.sin(7 * x[0]) + Math.cos(5 * x[1]) + x[2] * x[3], h: 0 };
  };
  const rng = NomadRng.fromSeed(0);
  const before = rng.state();
  const opt = minimizeInBox(model, [-3, -3, -3, -3], [3, 3, 3, 3], [0, 0, 0, 0], {
    maxEval: 50,
    rng,
    frameRounding: 'nomad',
  });
  assert.equal(opt.evaluations, calls);
  // A block is the poll (2n + 2 points) or the speculative search: at most 10 past the budget.
  assert.ok(calls >= 50 && calls <= 50 + 10, `calls = ${calls}`);
  assert.notDeepEqual(rng.state(), before);
});

test('same RNG state, same result', () => {
  const model = (x: readonly number[]): FH => ({ f: (x[0] - 0.123) ** 2 + Math.abs(x[1] - 0.7), h: 0 });
  const a = minimizeInBox(model, [0, 0], [1, 1], [0.5, 0.5], options(5));
  const b = minimizeInBox(model, [0, 0], [1, 1], [0.5, 0.5], options(5));
  assert.deepEqual(a, b);
});

/**
 * Golden traces: NOMAD 4.5.1 (PyNomadBBO) run with the parameters QuadModelOptimize gives its inner
 * MADS (ORTHO 2N, speculative search, isotropic mesh, no opportunism, no cache, H_MAX_0 ∞), on
 * functions in the box [-1, 1]² × [-2, 3]; written by testdata/inner-mads-golden.py. NOMAD's
 * blocks here hold one point, so its run stops exactly at MAX_BB_EVAL; the comparison covers
 * NOMAD's evaluations, point for point.
 */
function readInnerTrace(name: string): { x: number[]; f: number }[] {
  const text = readFileSync(resolve(process.cwd(), 'api/src/mads/testdata', name), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\d+\t/.test(line))
    .map((line) => {
      const [, x, f] = line.split('\t');
      return { x: x.split(' ').map(Number), f: Number(f) };
    });
}

const boxLower = [-1, -1, -2];
const boxUpper = [1, 1, 3];
const goldenRuns: { file: string; seed: number; x0: number[]; model: (x: readonly number[]) => FH }[] = [
  {
    file: 'innerMadsQuad.out',
    seed: 0,
    x0: [0, 0, 0.5],
    model: (x) => ({
      f:
        (x[0] - 0.3) ** 2 + 2 * (x[1] + 0.45) ** 2 + 0.5 * (x[0] - 0.3) * (x[1] + 0.45) + 0.1 * x[2] ** 2 - 0.05 * x[2],
      h: 0,
    }),
  },
  { file: 'innerMadsLinear.out', seed: 1, x0: [0, 0, 0.5], model: (x) => ({ f: x[0] + x[1] - x[2], h: 0 }) },
  {
    // One PB constraint, infeasible X0: exercises the progressive barrier, the secondary poll
    // and the barrier look-up of trial points.
    file: 'innerMadsConstrained.out',
    seed: 2,
    x0: [0.9, 0.9, 2],
    model: (x) => {
      const c = x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 1;
      return { f: x[0] + x[1] + 0.3 * x[2], h: c > 1e-13 ? c * c : 0 };
    },
  },
];

for (const { file, seed, x0, model } of goldenRuns) {
  test(`replays NOMAD's inner MADS point for point (${file})`, () => {
    const nomad = readInnerTrace(file);
    assert.ok(nomad.length >= 200);
    const ours: number[][] = [];
    minimizeInBox(
      (x) => {
        ours.push([...x]);
        return model(x);
      },
      boxLower,
      boxUpper,
      x0,
      // These runs evaluate a blackbox, so NOMAD skips trial points found in its barrier.
      { ...options(seed, nomad.length), skipPointsInBarrier: true },
    );
    assert.ok(ours.length >= nomad.length);
    nomad.forEach((row, i) => {
      // Exact equality; −0 and 0 are the same coordinate (NOMAD prints some zeros as −0).
      assert.ok(
        ours[i].length === row.x.length && ours[i].every((v, j) => v === row.x[j]),
        `evaluation ${i + 1}: ${ours[i].join(' ')} instead of ${row.x.join(' ')}`,
      );
      assert.equal(model(ours[i]).f, row.f, `f at evaluation ${i + 1}`);
    });
  });
}
