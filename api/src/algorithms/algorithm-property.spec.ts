/**
 * Property-based part of the contract suite: for random problems (types, bounds, granularity,
 * fixed and unbounded variables, several X0) and random batch sizes, every suggestion of every
 * algorithm is inside the bounds, on the granularity, equal to fixed values, and new.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AlgorithmName, OutputType, ProblemSpec, VariableSpec } from '../optimizer-contract/algorithm';
import { createAlgorithm } from './algorithm-registry';
import { isMultipleOf } from '../math/numerics';
import { cacheKey } from '../mads/space';

const variableArb: fc.Arbitrary<VariableSpec> = fc
  .record({
    type: fc.constantFrom<'R' | 'I' | 'B'>('R', 'R', 'I', 'B'),
    lower: fc.integer({ min: -20, max: 10 }),
    width: fc.integer({ min: 1, max: 30 }),
    granularity: fc.constantFrom(0, 0, 0.5, 0.1, 2),
    boundedLower: fc.boolean(),
    boundedUpper: fc.boolean(),
    fixed: fc.boolean(),
  })
  .map((r) => {
    const g = r.type === 'I' ? Math.max(1, Math.round(r.granularity)) : r.type === 'B' ? 0 : r.granularity;
    return {
      type: r.type,
      lowerBound: r.type === 'B' || r.boundedLower ? r.lower : null,
      upperBound: r.type === 'B' || r.boundedUpper ? r.lower + r.width : null,
      granularity: g,
      fixedValue: r.fixed ? 0 : null,
    };
  });

/** A valid X0 coordinate: on the granularity, inside the bounds, equal to the fixed value. */
function x0Value(v: VariableSpec, u: number): number {
  if (v.type === 'B') return u < 0.5 ? 0 : 1;
  const g = v.type === 'I' ? Math.max(1, v.granularity) : v.granularity;
  // An open side gets a finite stand-in 20 from the other bound (or around 0), so X0 is inside.
  const lb = v.lowerBound ?? (v.upperBound === null ? -10 : v.upperBound - 20);
  const ub = v.upperBound ?? lb + 20;
  let x = lb + u * (ub - lb);
  if (g > 0) {
    x = Math.round(x / g) * g;
    if (x > ub) x -= g;
    if (x < lb) x += g;
    x = Number(x.toFixed(10));
  }
  return x;
}

const problemArb: fc.Arbitrary<ProblemSpec> = fc
  .tuple(
    fc.array(variableArb, { minLength: 1, maxLength: 5 }),
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 10 }),
    fc.integer({ min: 0, max: 50 }),
  )
  .map(([vars, us, seed]) => {
    const variables = vars.map((v, i) => {
      if (v.fixedValue === null) return v;
      return { ...v, fixedValue: x0Value(v, us[i % us.length]) };
    });
    const x0 = [0, 1].map((k) => variables.map((v, i) => v.fixedValue ?? x0Value(v, us[(i + 3 * k) % us.length])));
    return { variables, outputTypes: ['OBJ', 'PB'] as OutputType[], x0, maxEvaluations: 40, seed };
  })
  .filter((p) => p.variables.every((v) => v.type === 'B' || v.granularity === 0 || isBoundOk(v)));

function isBoundOk(v: VariableSpec): boolean {
  const g = v.type === 'I' ? Math.max(1, v.granularity) : v.granularity;
  // The interval must hold at least two multiples of g.
  const lb = v.lowerBound ?? -1e9;
  const ub = v.upperBound ?? 1e9;
  return Math.floor(ub / g) - Math.ceil(lb / g) >= 1;
}

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
