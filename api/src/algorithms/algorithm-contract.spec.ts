/**
 * Contract suite run on every algorithm: bounds, types and granularity respected,
 * no duplicate suggestions, NaN and failed results tolerated, budget respected, determinism,
 * exact JSON round-trip in the middle of an asynchronous run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  AlgorithmName,
  EvaluationResult,
  ProblemSpec,
  Suggestion,
  SuggestionAlgorithm,
} from '../optimizer-contract/algorithm';
import { InvalidOptionsError, InvalidProblemError } from '../optimizer-contract/algorithm-errors';
import { createAlgorithm, restoreAlgorithm, type AlgorithmOptions } from './algorithm-registry';
import { isMultipleOf } from '../math/numerics';
import { cacheKey } from '../mads/space';

const MIXED: ProblemSpec = {
  variables: [
    { type: 'R', lowerBound: -5, upperBound: 5, granularity: 0, fixedValue: null },
    { type: 'R', lowerBound: 0, upperBound: 1, granularity: 0.05, fixedValue: null },
    { type: 'I', lowerBound: 0, upperBound: 10, granularity: 0, fixedValue: null },
    { type: 'B', lowerBound: 0, upperBound: 1, granularity: 0, fixedValue: null },
    { type: 'R', lowerBound: 0, upperBound: 5, granularity: 0, fixedValue: 2.5 },
    { type: 'R', lowerBound: null, upperBound: null, granularity: 0, fixedValue: null },
  ],
  outputTypes: ['OBJ', 'PB', 'EB', 'EXTRA_O'],
  x0: [
    [1, 0.5, 3, 0, 2.5, 3],
    [-2, 0.1, 7, 1, 2.5, -1],
  ],
  maxEvaluations: 120,
  seed: 3,
};

/** Deterministic blackbox with failures: null, NaN objective, and an EB violation region. */
function blackbox(x: readonly number[]): number[] | null {
  const s = Math.abs(Math.sin(x.reduce((a, v, i) => a + v * (i + 1.3), 0) * 977));
  if (s < 0.08) return null;
  const f = (x[0] - 1.2) ** 2 + (x[1] - 0.3) ** 2 + 0.1 * (x[2] - 4) ** 2 + x[3] + 0.01 * (x[5] - 2) ** 2;
  if (s < 0.12) return [NaN, 0, 0, 1];
  return [f, x[0] + x[1] - 5.5, x[2] - 9.5, s];
}

interface RunOptions {
  roundTripEvery?: number;
  rounds?: number;
}

/** Asynchronous driver: asks 1–3 points, tells about half of the pending ones in a scrambled order. */
function run(
  name: AlgorithmName,
  problem: ProblemSpec,
  options: AlgorithmOptions,
  opts: RunOptions = {},
): Suggestion[] {
  let alg: SuggestionAlgorithm = createAlgorithm(name, problem, options);
  const suggestions: Suggestion[] = [];
  let pending: Suggestion[] = [];
  const rounds = opts.rounds ?? 400;
  for (let round = 0; round < rounds && alg.stopReason === null; round++) {
    if (opts.roundTripEvery !== undefined && round % opts.roundTripEvery === opts.roundTripEvery - 1) {
      const json = JSON.stringify(alg.toJSON());
      alg = restoreAlgorithm(name, JSON.parse(json));
      assert.equal(JSON.stringify(alg.toJSON()), json, 'toJSON after restore differs');
    }
    const batch = alg.ask(1 + (round % 3));
    suggestions.push(...batch);
    pending.push(...batch);
    if (pending.length === 0) break;
    const order = pending.map((p, i) => ({ p, k: (i * 7919 + round * 31) % 13 }));
    order.sort((a, b) => a.k - b.k);
    const count = Math.max(1, Math.ceil(order.length / 2));
    const told = order.slice(0, count).map((o) => o.p);
    pending = order.slice(count).map((o) => o.p);
    const results: EvaluationResult[] = told.map((s) => ({ x: s.x, outputs: blackbox(s.x) }));
    alg.tell(results);
  }
  return suggestions;
}

const CASES: { name: AlgorithmName; options: AlgorithmOptions }[] = [
  { name: 'mads', options: {} },
  { name: 'mads', options: { directionType: 'ORTHO 2N', opportunistic: false } },
  { name: 'random', options: {} },
];

for (const { name, options } of CASES) {
  describe(`contract: ${name} ${JSON.stringify(options)}`, () => {
    test('suggestions respect bounds, types, granularity and fixed values', () => {
      for (const s of run(name, MIXED, options)) {
        assert.equal(s.x.length, 6);
        const [a, b, c, d, e] = s.x;
        assert.ok(a >= -5 && a <= 5, `x0 out of bounds: ${s.x}`);
        assert.ok(b >= 0 && b <= 1 && isMultipleOf(b, 0.05), `granular x1: ${s.x}`);
        assert.ok(Number.isInteger(c) && c >= 0 && c <= 10, `integer x2: ${s.x}`);
        assert.ok(d === 0 || d === 1, `binary x3: ${s.x}`);
        assert.equal(e, 2.5);
        assert.ok(Number.isFinite(s.x[5]));
      }
    });

    test('never suggests the same point twice, nor a point already told', () => {
      const alg = createAlgorithm(name, MIXED, options);
      const told = [0.5, 0.5, 5, 1, 2.5, 0];
      alg.tell([{ x: told, outputs: blackbox(told) }]);
      const seen = new Set<string>([cacheKey(told)]);
      for (let i = 0; i < 60 && alg.stopReason === null; i++) {
        const batch = alg.ask(2);
        for (const s of batch) {
          assert.ok(!seen.has(cacheKey(s.x)), `duplicate ${s.x}`);
          seen.add(cacheKey(s.x));
        }
        alg.tell(batch.map((s) => ({ x: s.x, outputs: blackbox(s.x) })));
      }
    });

    test('points marked in flight count toward the budget and are never suggested', () => {
      const alg = createAlgorithm(name, { ...MIXED, maxEvaluations: 6 }, options);
      const user = [0.5, 0.5, 5, 1, 2.5, 0];
      alg.markInFlight([user]);
      const asked = [...alg.ask(3), ...alg.ask(3)];
      assert.equal(asked.length, 5);
      assert.ok(asked.every((s) => cacheKey(s.x) !== cacheKey(user)));
      alg.tell([...asked, { x: user, origin: 'x0' as const }].map((s) => ({ x: s.x, outputs: blackbox(s.x) })));
      assert.deepEqual(alg.stopReason, { kind: 'MAX_BB_EVAL', evaluations: 6 });
    });

    test('failed and NaN results are tolerated; the budget is never exceeded', () => {
      const suggestions = run(name, MIXED, options, { rounds: 1000 });
      assert.ok(suggestions.length <= (MIXED.maxEvaluations as number));
      const alg = createAlgorithm(name, { ...MIXED, maxEvaluations: 25 }, options);
      for (let i = 0; i < 100 && alg.stopReason === null; i++) {
        const batch = alg.ask(4);
        alg.tell(batch.map((s, j) => ({ x: s.x, outputs: j % 2 === 0 ? null : [NaN, NaN, NaN, NaN] })));
      }
      assert.ok(alg.stopReason !== null);
    });

    test('same seed and same tells give the same suggestions', () => {
      const a = run(name, MIXED, options);
      const b = run(name, MIXED, options);
      assert.deepEqual(a, b);
      assert.ok(a.length > 20);
    });

    test('a JSON round-trip in the middle of a run changes nothing', () => {
      const plain = run(name, MIXED, options);
      const restored = run(name, MIXED, options, { roundTripEvery: 5 });
      assert.deepEqual(restored, plain);
    });
  });
}

describe('registry validation', () => {
  test('invalid problems throw InvalidProblemError with a field path', () => {
    const bad = (patch: Partial<ProblemSpec>, path: string): void => {
      assert.throws(
        () => createAlgorithm('mads', { ...MIXED, ...patch }),
        (e: unknown) => e instanceof InvalidProblemError && e.path.startsWith(path),
      );
    };
    bad({ outputTypes: ['PB'] }, 'outputTypes');
    bad({ outputTypes: ['OBJ', 'OBJ'] }, 'outputTypes');
    bad({ x0: [[9, 0.5, 3, 0, 2.5, 3]] }, 'x0[0][0]');
    bad({ x0: [[1, 0.52, 3, 0, 2.5, 3]] }, 'x0[0][1]');
    bad({ x0: [[1, 0.5, 3, 0, 2, 3]] }, 'x0[0][4]');
    bad({ x0: [] }, 'x0');
    bad(
      { variables: [{ type: 'R', lowerBound: 2, upperBound: 1, granularity: 0, fixedValue: null }], x0: [[1]] },
      'variables[0].lowerBound',
    );
  });

  test('invalid options throw InvalidOptionsError', () => {
    assert.throws(() => createAlgorithm('mads', MIXED, { directionType: 'ORTHO 3N' } as never), InvalidOptionsError);
    assert.throws(() => createAlgorithm('mads', MIXED, { bogus: 1 } as never), InvalidOptionsError);
    assert.throws(() => createAlgorithm('mads', MIXED, { minMeshSize: [1] }), InvalidOptionsError);
    assert.throws(() => createAlgorithm('mads', MIXED, { categoricalVariables: [0] }), InvalidOptionsError);
    assert.throws(() => createAlgorithm('mads', MIXED, { categoricalVariables: [5] }), InvalidOptionsError);
    assert.doesNotThrow(() => createAlgorithm('mads', MIXED, { categoricalVariables: [2, 3] }));
    assert.throws(() => createAlgorithm('random', MIXED, { directionType: 'ORTHO 2N' }), InvalidOptionsError);
  });

  // Finding 25: `key in DEFAULT_MADS_OPTIONS` let inherited names through as options (and
  // `key in ENUMS` then called `.includes` on Object: a TypeError, not InvalidOptionsError).
  test('an option named like an inherited property of an object is unknown', () => {
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      for (const value of [1, 'x', true]) {
        const options = JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(value)}}`) as never;
        assert.throws(() => createAlgorithm('mads', MIXED, options), InvalidOptionsError, `${name}: ${String(value)}`);
      }
    }
  });
});
