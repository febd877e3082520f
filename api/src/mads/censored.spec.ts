/**
 * Stops as censored observations (`censoredModels`, `EvaluationResult.censoredBelow`;
 * docs/algorithm.md, "Early stopping: what the models learn from a stop"): the bound is checked on
 * input; a censored point stays a failed evaluation for the barrier, the incumbent and the budget
 * whatever its bound; without the option (both presets) the bound changes nothing; the bound
 * survives a JSON round trip; the quadratic model and the surrogate search use it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { EvaluationResult, ProblemSpec } from '../optimizer-contract/algorithm';
import { InvalidResultError } from '../optimizer-contract/algorithm-errors';
import { Mads, type MadsOptions } from './index';
import { modelOrder } from './search/quad-model';
import { surrogateCandidates } from './search/surrogate';
import { stateFromJson } from './serialization';
import { int, real } from './testing/fixtures';

const sphere = (x: readonly number[]): number => x.reduce((s, v, i) => s + (v - 0.3 * (i + 1)) ** 2, 0);

/** A deterministic "stop" per point: whether the trial at x is stopped, and the bound told with it. */
function stopOf(x: readonly number[], salt: number, share: number): { stop: boolean; offset: number } {
  let h = 2166136261 ^ salt;
  for (const v of x) h = Math.imul(h ^ Math.round(v * 1e6), 16777619) >>> 0;
  const u = (h % 10007) / 10007;
  return { stop: u < share, offset: ((h >>> 8) % 2001) / 100 - 10 };
}

/** ask(1)/tell until `evaluations`: stopped points told as failed, with (or without) their bound. */
function run(
  problem: ProblemSpec,
  options: Partial<MadsOptions>,
  evaluations: number,
  salt: number,
  share: number,
  tellBound: boolean,
  check?: (mads: Mads, told: EvaluationResult[]) => void,
): { mads: Mads; asked: number[][] } {
  const mads = Mads.create(problem, options);
  const asked: number[][] = [];
  const told: EvaluationResult[] = [];
  while (asked.length < evaluations && mads.stopReason === null) {
    const [s] = mads.ask(1);
    if (s === undefined) break;
    asked.push(s.x);
    const { stop, offset } = stopOf(s.x, salt, share);
    const f = sphere(s.x);
    const result: EvaluationResult =
      stop && s.origin !== 'x0'
        ? { x: s.x, outputs: null, ...(tellBound ? { censoredBelow: f + offset } : {}) }
        : { x: s.x, outputs: [f] };
    mads.tell([result]);
    told.push(result);
    check?.(mads, told);
  }
  return { mads, asked };
}

const problemOf = (n: number, integer: boolean, seed: number): ProblemSpec => ({
  variables: Array.from({ length: n }, () => (integer ? int(-5, 5) : real(-2, 2))),
  outputTypes: ['OBJ'],
  x0: [Array.from({ length: n }, () => (integer ? 2 : 1))],
  maxEvaluations: 60,
  seed,
});

test('censoredBelow is checked: a finite number, and only on a failed evaluation (the field is named)', () => {
  const mads = Mads.create(problemOf(2, false, 1));
  const [s] = mads.ask(1);
  const cases: [EvaluationResult, RegExp][] = [
    [{ x: s.x, outputs: [1], censoredBelow: 2 }, /results\[0\]\.censoredBelow.*failed evaluation/],
    [{ x: s.x, outputs: null, censoredBelow: Number.NaN }, /results\[0\]\.censoredBelow.*finite/],
    [{ x: s.x, outputs: null, censoredBelow: Infinity }, /results\[0\]\.censoredBelow.*finite/],
    [{ x: s.x, outputs: null, censoredBelow: '1' as unknown as number }, /results\[0\]\.censoredBelow.*finite/],
  ];
  for (const [result, message] of cases) {
    assert.throws(
      () => mads.tell([result]),
      (e: unknown) => e instanceof InvalidResultError && message.test(`${e.path} ${e.reason}`),
    );
  }
  // Nothing was stored by the refused tells: the point is still in flight.
  assert.equal(mads.evaluationCount, 0);
  assert.equal(mads.pendingCount, 1);
});

test('a censored point is a failed evaluation for the barrier, the incumbent and the budget, whatever its bound', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1e6 }),
      fc.integer({ min: 2, max: 4 }),
      fc.boolean(),
      fc.double({ min: 0.3, max: 0.95, noNaN: true }),
      (seed, n, integer, share) => {
        run(
          problemOf(n, integer, seed),
          { censoredModels: true, surrogateSearch: true },
          60,
          seed,
          share,
          true,
          (mads, told) => {
            assert.equal(mads.evaluationCount, told.length);
            const completed = told.filter((r) => r.outputs !== null);
            const best = mads.bestFeasible();
            if (completed.length === 0) return;
            assert.ok(best !== null);
            // The incumbent is the best completed value; a bound below it (offsets reach −10) never
            // makes a stopped point the incumbent, nor moves the stop threshold.
            // (Within NOMAD's EPS: a value better by less than 1e-13 is not a success, §1.4.)
            assert.ok(best.f - Math.min(...completed.map((r) => r.outputs![0])) <= 1e-12);
            assert.ok(completed.some((r) => r.x.every((v, i) => v === best.x[i])));
            assert.equal(mads.earlyStopThreshold(), best.f);
          },
        );
      },
    ),
    // The example: two completed values 2e-16 apart, the first kept as the incumbent (EPS).
    { numRuns: 12, examples: [[196046, 4, true, 0.39382432297391834]] },
  );
});

test('without censoredModels (meshtune default, nomad4) the bound changes nothing: the same points are asked', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1e6 }),
      fc.integer({ min: 2, max: 4 }),
      fc.boolean(),
      fc.constantFrom<Partial<MadsOptions>>({}, { preset: 'nomad4' }, { surrogateSearch: true }),
      (seed, n, integer, options) => {
        const problem = problemOf(n, integer, seed);
        const withBound = run(problem, options, 60, seed, 0.7, true);
        const without = run(problem, options, 60, seed, 0.7, false);
        assert.deepEqual(withBound.asked, without.asked);
      },
    ),
    { numRuns: 10 },
  );
});

test('with censoredModels the models take the bounds: the run asks other points than without them', () => {
  // Not a property of every run (a model may rank the same way either way), but of most.
  let differ = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const problem = problemOf(3, seed % 2 === 0, seed);
    const options = { censoredModels: true, surrogateSearch: true } as const;
    const withBound = run(problem, options, 60, seed, 0.7, true);
    const without = run(problem, options, 60, seed, 0.7, false);
    if (JSON.stringify(withBound.asked) !== JSON.stringify(without.asked)) differ++;
  }
  assert.ok(differ >= 4, `${differ} of 6 runs differ`);
});

test('the bounds survive a JSON round trip: the restored engine writes the same state and asks the same points', () => {
  for (const integer of [false, true]) {
    const problem = problemOf(3, integer, 7);
    const options = { censoredModels: true, surrogateSearch: true } as const;
    const { mads } = run(problem, options, 25, 7, 0.7, true);
    const json = mads.toJSON();
    assert.ok(
      (json.records as unknown[][]).some((r) => r.length === 7 && typeof r[6] === 'number'),
      'no censored record in the state',
    );
    const restored = Mads.fromJSON(JSON.parse(JSON.stringify(json)));
    assert.deepEqual(restored.toJSON(), json);
    for (let i = 0; i < 15 && mads.stopReason === null; i++) {
      const [a] = mads.ask(1);
      const [b] = restored.ask(1);
      assert.deepEqual(b, a);
      if (a === undefined) break;
      const { stop, offset } = stopOf(a.x, 7, 0.7);
      const result: EvaluationResult = stop
        ? { x: a.x, outputs: null, censoredBelow: sphere(a.x) + offset }
        : { x: a.x, outputs: [sphere(a.x)] };
      mads.tell([result]);
      restored.tell([result]);
    }
    assert.deepEqual(restored.toJSON(), mads.toJSON());
  }
});

test('the quadratic model ranks a poll point below others once a stop near it says it cannot be good', () => {
  // f = x + y around the origin: the model ranks (−1, 0) and (0, −1) first. A stop at (−1, 0) whose
  // bound (5) is far above what the model predicts there moves it behind every other candidate.
  const problem: ProblemSpec = {
    variables: [real(-10, 10), real(-10, 10)],
    outputTypes: ['OBJ'],
    x0: [[0, 0]],
    maxEvaluations: null,
    seed: 1,
  };
  const told: [number, number][] = [
    [0, 0],
    [0.5, 0],
    [0, 0.5],
    [0.5, 0.5],
    [-0.5, 0.5],
    [0.5, -0.5],
    [0.25, 0.75],
  ];
  const order = (options: Partial<MadsOptions>, censored: boolean): number[][] => {
    const mads = Mads.create(problem, options);
    mads.tell(told.map((x) => ({ x, outputs: [x[0] + x[1]] })));
    if (censored) mads.tell([{ x: [-1, 0], outputs: null, censoredBelow: 5 }]);
    const state = stateFromJson(mads.toJSON());
    const candidates = [
      [-1, 0.1],
      [0.1, -1],
      [1, 0],
      [0, 1],
    ].map((x) => ({ x, fromId: 0, origin: 'poll' as const }));
    return modelOrder(state, candidates)!.map((c) => c.x);
  };
  const plain = order({ censoredModels: true }, false);
  assert.deepEqual(plain[0], [-1, 0.1]);
  // Without the option the stop changes nothing; with it, (−1, 0.1) goes last.
  assert.deepEqual(order({ censoredModels: false }, true), plain);
  const taught = order({ censoredModels: true }, true);
  assert.deepEqual(taught[taught.length - 1], [-1, 0.1]);
});

test('the surrogate search moves away from a stop whose bound is far above every value told', () => {
  // An integer box; the GP's first choice c0 is told stopped with a bound far above every value.
  // With the option the next choice is not next to c0; without it the model still likes c0's
  // neighbourhood.
  const problem: ProblemSpec = {
    variables: [int(0, 20), int(0, 20)],
    outputTypes: ['OBJ'],
    x0: [[10, 10]],
    maxEvaluations: null,
    seed: 3,
  };
  const points: [number, number][] = [
    [10, 10],
    [0, 0],
    [20, 0],
    [0, 20],
    [20, 20],
    [10, 0],
    [0, 10],
    [5, 5],
    [15, 15],
  ];
  const f = (x: readonly number[]) => (x[0] - 6) ** 2 / 10 + (x[1] - 6) ** 2 / 10;
  const next = (options: Partial<MadsOptions>, stoppedAt: number[] | null): number[] => {
    const mads = Mads.create(problem, { surrogateSearch: true, ...options });
    mads.tell(points.map((x) => ({ x, outputs: [f(x)] })));
    if (stoppedAt !== null) mads.tell([{ x: stoppedAt, outputs: null, censoredBelow: 1000 }]);
    return surrogateCandidates(stateFromJson(mads.toJSON()), 1)[0].x;
  };
  const c0 = next({ censoredModels: true }, null);
  const distance = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  const without = next({ censoredModels: false }, c0);
  const taught = next({ censoredModels: true }, c0);
  assert.ok(distance(without, c0) <= 1, `without the option: ${JSON.stringify(without)} vs c0 ${JSON.stringify(c0)}`);
  assert.ok(distance(taught, c0) > 1, `with the option: ${JSON.stringify(taught)} vs c0 ${JSON.stringify(c0)}`);
});
