/**
 * Property-based part of the contract suite: for random problems (types, bounds, granularity,
 * fixed and unbounded variables, several X0) and random batch sizes, every suggestion of every
 * algorithm is inside the bounds, on the granularity, equal to fixed values, and new. The whole
 * contract under random schedules (stops, round trips, resumed values): algorithm-invariants.spec.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AlgorithmName, OutputType, ProblemSpec } from '../optimizer-contract/algorithm';
import { randomProblemArb } from './testing/problem-arbitraries';
import { createAlgorithm } from './algorithm-registry';
import { isMultipleOf } from '../math/numerics';
import { cacheKey } from '../mads/space';

/** The shared random problems (testing/problem-arbitraries.ts), with one PB constraint and a budget of 40. */
const problemArb: fc.Arbitrary<ProblemSpec> = randomProblemArb().map(({ problem }) => ({
  ...problem,
  outputTypes: ['OBJ', 'PB'] as OutputType[],
  maxEvaluations: 40,
}));

/**
 * What the blackbox answers: smooth values, and the classes a runner may legally report that no
 * smooth test function produces — finite but extreme magnitudes (±1e308, subnormals), a constant
 * (every point ties), +∞ (a legal, useless objective), NaN (a failed evaluation, §1.5).
 */
type Landscape = 'smooth' | 'extreme' | 'constant' | 'infinite' | 'nan';
const EXTREMES = [1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, -5e-324, 1e-300, 1e300, 0];

function outputsFor(landscape: Landscape, x: readonly number[], j: number): number[] {
  const f = x.reduce((a, v) => a + (v - 0.7) ** 2, 0);
  const c = x[0] - 3;
  const pick = (k: number): number => EXTREMES[(j * 7 + k * 3 + Math.abs(Math.round(f))) % EXTREMES.length];
  switch (landscape) {
    case 'smooth':
      return [f, c];
    case 'extreme':
      return [pick(0), j % 2 === 0 ? pick(1) : c];
    case 'constant':
      return [1, j % 3 === 0 ? 1 : -1];
    case 'infinite':
      return [j % 2 === 0 ? Infinity : f, c];
    case 'nan':
      return [j % 2 === 0 ? Number.NaN : f, j % 3 === 0 ? Number.NaN : c];
  }
}

function checkRun(name: AlgorithmName, problem: ProblemSpec, batches: number[], landscape: Landscape = 'smooth'): void {
  const alg = createAlgorithm(name, problem);
  const seen = new Set<string>();
  for (const k of batches) {
    if (alg.stopReason !== null) break;
    const asked = alg.ask(k);
    for (const s of asked) {
      const key = cacheKey(s.x);
      assert.ok(!seen.has(key), `duplicate ${s.x}`);
      seen.add(key);
      problem.variables.forEach((v, i) => {
        const x = s.x[i];
        const lb = v.type === 'B' ? 0 : v.lowerBound;
        const ub = v.type === 'B' ? 1 : v.upperBound;
        const g = v.type === 'I' || v.type === 'B' ? Math.max(1, v.granularity) : v.granularity;
        assert.ok(Number.isFinite(x), `non-finite ${s.x}`);
        if (lb !== null) assert.ok(x >= lb, `below bound: ${s.x}`);
        if (ub !== null) assert.ok(x <= ub, `above bound: ${s.x}`);
        if (g > 0) assert.ok(isMultipleOf(x, g), `off granularity ${g}: ${s.x}`);
        if (v.fixedValue !== null) assert.equal(x, v.fixedValue);
      });
    }
    alg.tell(
      asked.map((s, j) => ({
        x: s.x,
        outputs: j % 5 === 4 ? null : outputsFor(landscape, s.x, j),
      })),
    );
  }
}

for (const name of ['mads', 'random'] as const) {
  test(`property: ${name} suggestions are always valid and new on random problems`, () => {
    fc.assert(
      fc.property(problemArb, fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 15, maxLength: 15 }), (p, b) =>
        checkRun(name, p, b),
      ),
      { numRuns: 25, seed: 20260101 },
    );
  });
}

test('property: MADS suggestions stay valid and new whatever the blackbox answers (extreme, constant, infinite, NaN)', () => {
  fc.assert(
    fc.property(
      problemArb,
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 15, maxLength: 15 }),
      fc.constantFrom<Landscape>('extreme', 'constant', 'infinite', 'nan'),
      (p, b, landscape) => checkRun('mads', p, b, landscape),
    ),
    { numRuns: 40, seed: 20261204 },
  );
});
