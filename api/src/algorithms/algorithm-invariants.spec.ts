/**
 * The ask/tell contract (optimizer-contract/algorithm.ts) as invariants, on random problems
 * (testing/problem-arbitraries.ts) and random schedules, for every algorithm of the registry and
 * every MADS preset: batches of 1–16, results told in any order and after a stop, failures, NaN and
 * infinite outputs, resumed values of points told failed, results of points never suggested,
 * user stops and JSON round trips at random moments. After every call the suite checks:
 * - every suggestion valid (bounds, granularity, fixed values, finite) and new: never a point told,
 *   in flight or suggested before; never more than asked, never beyond the budget;
 * - the evaluation count is the number of distinct points told (resumed values not counted);
 * - a stop is final, ask returns [] after it, and the told budget stops the algorithm;
 * - with nothing in flight, ask returns a point or stops (no stall);
 * - MADS: the feasible incumbent is the best feasible value told, once the X0 step has ended and
 *   at any stop (the promise, docs/algorithm.md, "What the incumbent is");
 * - a restored copy of the state is the same text and goes on identically (same asks, same
 *   incumbent, same state) for the rest of the run, its tells replayed through the API's
 *   operation log encoding.
 * A failure prints fast-check's seed and path; INVARIANTS_SEED=<seed> replays or explores others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { EvaluationResult, OutputType, StopReason, Suggestion } from '../optimizer-contract/algorithm';
import { createAlgorithm, restoreAlgorithm, type AlgorithmOptions, type StudyAlgorithm } from './algorithm-registry';
import { randomProblemArb, valueAt, type RandomProblem } from './testing/problem-arbitraries';
import { EPS, isMultipleOf } from '../math/numerics';
import { cacheKey } from '../mads/space';
import { hash } from '../mads/testing/landscapes';
import { Mads, type MadsOptions } from '../mads';
import { applyOperation, decodeOperation, encodeOperation, type EngineOperation } from '../engine/engine-operation';
import type { MadsPreset } from '../mads/options';

/** What the blackbox answers, per point (a function of the point, so a second tell agrees). */
interface Landscape {
  fail: number;
  nan: number;
  posInf: number;
  negInf: number;
  extreme: number;
  /** Share of points whose PB/EB outputs are ±∞ (legal: +∞ violates, −∞ satisfies). */
  infiniteConstraint: number;
  /** Constraint offsets: c_j(x) = Σ x − shift_j, so that some points are feasible and some not. */
  shifts: number[];
}

const landscapeArb: fc.Arbitrary<Landscape> = fc.record({
  fail: fc.constantFrom(0, 0.1, 0.3),
  nan: fc.constantFrom(0, 0, 0.1),
  posInf: fc.constantFrom(0, 0, 0.05),
  negInf: fc.constantFrom(0, 0, 0, 0.02),
  extreme: fc.constantFrom(0, 0, 0.1),
  infiniteConstraint: fc.constantFrom(0, 0, 0.1),
  shifts: fc.array(fc.integer({ min: -10, max: 10 }), { minLength: 3, maxLength: 3 }),
});

/** Objective values on a 1e-3 grid: no two distinct values tie within the engine's ε. */
function outputsAt(types: readonly OutputType[], l: Landscape, x: readonly number[]): number[] | null {
  const u = hash(x);
  const u2 = hash([...x, 1]);
  if (u < l.fail) return null;
  let f = Math.round(1000 * x.reduce((a, v, i) => a + (v - 0.7 * (i + 1)) ** 2 + Math.sin(3 * v), 0)) / 1000;
  let v = l.fail;
  const pick = (p: number): boolean => {
    const hit = u >= v && u < v + p;
    v += p;
    return hit;
  };
  const nan = pick(l.nan);
  if (pick(l.posInf)) f = Infinity;
  if (pick(l.negInf)) f = -Infinity;
  if (pick(l.extreme)) f = (u2 < 0.5 ? -1e300 : 1e300) * (1 + Math.round(1000 * u2) / 1000);
  let constraint = 0;
  const out = types.map((t) => {
    if (t === 'OBJ') return f;
    if (t === 'EXTRA_O') return u2 < 0.3 ? Number.NaN : u2;
    const shift = l.shifts[constraint++ % l.shifts.length];
    if (u2 > 1 - l.infiniteConstraint) return u2 > 1 - l.infiniteConstraint / 2 ? Infinity : -Infinity;
    return Math.round(1000 * (x.reduce((a, b) => a + b, 0) - shift)) / 1000;
  });
  if (nan) {
    // NaN in an OBJ, PB or EB output: a failed evaluation (§1.5).
    const at = types.findIndex((t, j) => t !== 'EXTRA_O' && (j === 0 || u2 < 0.5));
    out[at >= 0 ? at : 0] = Number.NaN;
  }
  return out;
}

/** The engine's reading of outputs (evaluation.ts), restated: null = failed, else (f, feasible). */
function reading(
  types: readonly OutputType[],
  outputs: readonly number[] | null,
): { f: number; feasible: boolean } | null {
  if (outputs === null) return null;
  let f = Number.NaN;
  let feasible = true;
  for (let j = 0; j < types.length; j++) {
    if (types[j] === 'EXTRA_O') continue;
    if (Number.isNaN(outputs[j])) return null;
    if (types[j] === 'OBJ') f = outputs[j];
    else if (outputs[j] > EPS) feasible = false;
  }
  return { f, feasible };
}

/** One round of a schedule: ask k, tell part of what is in flight in a random order, and events. */
interface Round {
  k: number;
  tellShare: number;
  order: number;
  stop: boolean;
  roundTrip: boolean;
  resume: boolean;
  unsolicited: boolean;
  /** Tell one result twice in the same call (the second is ignored). */
  duplicate: boolean;
  /** Declare an X0 in flight outside the algorithm (a user's enqueued trial, `markInFlight`). */
  mark: boolean;
}

/** A percentage without fast-check's bias to small values (events must stay rare; they shrink to absent). */
const percent = fc.noBias(fc.integer({ min: 0, max: 99 }));

const roundArb: fc.Arbitrary<Round> = fc.record({
  k: fc.integer({ min: 1, max: 16 }),
  tellShare: fc.constantFrom(0, 0.3, 0.5, 1, 1),
  order: fc.nat(),
  stop: percent.map((u) => u >= 97),
  roundTrip: percent.map((u) => u >= 90),
  resume: percent.map((u) => u >= 80),
  unsolicited: percent.map((u) => u >= 95),
  duplicate: percent.map((u) => u >= 95),
  mark: percent.map((u) => u >= 95),
});

interface Flavour {
  label: string;
  name: 'mads' | 'random';
  options: (p: RandomProblem, drawn: Partial<MadsOptions>) => AlgorithmOptions;
}

/** MADS options a study may set (options-validation.ts), drawn for the 'random options' flavour. */
const madsOptionsArb: fc.Arbitrary<Partial<MadsOptions>> = fc.record(
  {
    preset: fc.constantFrom<MadsPreset>('meshtune', 'nomad4'),
    pipelineIterations: fc.integer({ min: 0, max: 4 }),
    lateSuccess: fc.boolean(),
    restartOnMinMesh: fc.boolean(),
    surrogateSearch: fc.constantFrom<MadsOptions['surrogateSearch']>(false, true, 'sequential'),
    modelIdlePoints: fc.integer({ min: 0, max: 3 }),
    modelIdleFirst: fc.boolean(),
    maxInFlight: fc.integer({ min: 0, max: 3 }),
    idleSurrogatePoints: fc.constantFrom(0, 4),
    idleFrameRefinements: fc.constantFrom(0, 2),
    refineAhead: fc.integer({ min: 0, max: 16 }),
    directionType: fc.constantFrom<MadsOptions['directionType']>('ORTHO N+1 QUAD', 'ORTHO N+1 NEG', 'ORTHO 2N'),
    secondaryPoll: fc.boolean(),
    speculativeSearch: fc.boolean(),
    quadModelSearch: fc.boolean(),
    quadModelFit: fc.constantFrom<MadsOptions['quadModelFit']>('prs', 'minNorm'),
    quadSearchTrustRegion: fc.boolean(),
    boundedFrame: fc.boolean(),
    nmModelFactor: fc.constantFrom(0, 20),
    nmSearch: fc.boolean(),
    evalQueueSort: fc.constantFrom<MadsOptions['evalQueueSort']>('QUADRATIC_MODEL', 'DIR_LAST_SUCCESS'),
    anisotropicMesh: fc.boolean(),
    minMeshFraction: fc.constantFrom(0, 0.01),
    frameRounding: fc.constantFrom<MadsOptions['frameRounding']>('nomad', 'floor'),
    hMax0: fc.constantFrom(Infinity, 1, 100),
    fillIdle: fc.boolean(),
    opportunistic: fc.boolean(),
  },
  { requiredKeys: [] },
);

const FLAVOURS: Flavour[] = [
  {
    label: 'mads (meshtune preset, categorical variables)',
    name: 'mads',
    options: (p) => ({ preset: 'meshtune', categoricalVariables: p.categorical }),
  },
  {
    label: 'mads (random options)',
    name: 'mads',
    options: (p, drawn) => ({
      ...drawn,
      categoricalVariables: p.categorical,
    }),
  },
  { label: 'mads (nomad4 preset)', name: 'mads', options: () => ({ preset: 'nomad4' }) },
  { label: 'random', name: 'random', options: () => ({}) },
];

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = Math.imul(s ^ (s >>> 15), 2246822519) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * A value as the API stores and serves it. Why not deepEqual: JSON has no −0, so a restored
 * engine holds 0 where the live one holds a told −0 (an output, a coordinate); no comparison
 * of the engine tells them apart (−0 < 0 is false), and neither does anything the API writes.
 */
const json = (value: unknown): string => JSON.stringify(value);

/**
 * The restored copy takes tells and marks as the API replays them after a snapshot: encoded,
 * through JSON (the operation log), decoded (api/src/engine/engine-operation.ts).
 */
function replay(algorithm: StudyAlgorithm, operation: EngineOperation): void {
  applyOperation(algorithm, decodeOperation(JSON.parse(JSON.stringify(encodeOperation(operation)))));
}

const stats = { runs: 0, evaluations: 0, roundTrips: 0, maxStatePerPoint: 0 };

/** Runs one schedule on one algorithm, checking every invariant after every call. */
function checkSchedule(
  flavour: Flavour,
  rp: RandomProblem,
  drawn: Partial<MadsOptions>,
  landscape: Landscape,
  rounds: readonly Round[],
): void {
  const problem = rp.problem;
  const types = problem.outputTypes;
  const options = flavour.options(rp, drawn);
  const alg = createAlgorithm(flavour.name, problem, options);
  // A non-opportunistic step takes a better point into the barrier at its end only (NOMAD's).
  const opportunistic = (options as Partial<MadsOptions>).opportunistic !== false;
  const initialSize = JSON.stringify(alg.toJSON()).length;
  /** A copy restored from the state's JSON at the last round trip, driven alongside. */
  let twin: StudyAlgorithm | null = null;
  const told = new Map<string, { x: number[]; outputs: number[] | null }>();
  const inFlight = new Map<string, number[]>();
  const suggested = new Set<string>();
  let firstStop: StopReason | null = null;

  const expectedIncumbent = (): number | null => {
    let best: number | null = null;
    for (const t of told.values()) {
      const r = reading(types, t.outputs);
      if (r !== null && r.feasible && (best === null || r.f < best)) best = r.f;
    }
    return best;
  };

  const checkIncumbent = (when: string): void => {
    if (!(alg instanceof Mads)) return;
    // Whenever there is one, an incumbent is a told point with its told value (resumed or first).
    for (const [view, feasible] of [
      [alg.bestFeasible(), true],
      [alg.bestInfeasible(), false],
    ] as const) {
      if (view === null) continue;
      const t = told.get(cacheKey(view.x));
      assert.ok(t !== undefined, `incumbent ${view.x} was never told ${when}`);
      assert.deepEqual(view.outputs, t.outputs, `incumbent's outputs ≠ told ${when}`);
      assert.equal(reading(types, t.outputs)?.feasible, feasible, `incumbent of the wrong kind ${when}`);
    }
    // The promise: at any stop; with opportunistic evaluation also after every tell from the end
    // of the X0 step on (iteration > 0) (docs/algorithm.md, "What the incumbent is").
    if (alg.stopReason === null && (alg.iteration === 0 || !opportunistic)) return;
    const expected = expectedIncumbent();
    const actual = alg.bestFeasible()?.f ?? null;
    assert.equal(actual, expected, `incumbent ${actual} ≠ best feasible told ${expected} ${when}`);
    const threshold = alg.earlyStopThreshold();
    if (threshold !== null) assert.equal(threshold, actual, `early-stop threshold ≠ incumbent ${when}`);
  };

  const checkCommon = (when: string): void => {
    assert.equal(alg.evaluationCount, told.size, `evaluation count ≠ distinct points told ${when}`);
    if (firstStop !== null) assert.deepEqual(alg.stopReason, firstStop, `the stop reason changed ${when}`);
    if (alg.stopReason !== null) firstStop ??= structuredClone(alg.stopReason);
    if (alg instanceof Mads) assert.equal(alg.pendingCount, inFlight.size, `pending count ≠ points in flight ${when}`);
    const max = problem.maxEvaluations;
    if (max !== null && told.size >= max) assert.notEqual(alg.stopReason, null, `budget told, no stop ${when}`);
    const reason = alg.stopReason;
    if (reason?.kind === 'MAX_BB_EVAL')
      assert.ok(
        max !== null && reason.evaluations >= max && reason.evaluations <= told.size,
        `${reason.evaluations} ${when}`,
      );
    if (twin !== null) {
      assert.equal(twin.evaluationCount, alg.evaluationCount, `restored copy: evaluations ${when}`);
      assert.deepEqual(twin.stopReason, alg.stopReason, `restored copy: stop reason ${when}`);
      if (alg instanceof Mads && twin instanceof Mads) {
        assert.equal(json(twin.bestFeasible()), json(alg.bestFeasible()), `restored copy: incumbent ${when}`);
        assert.equal(
          json(twin.bestInfeasible()),
          json(alg.bestInfeasible()),
          `restored copy: infeasible incumbent ${when}`,
        );
        assert.equal(twin.earlyStopThreshold(), alg.earlyStopThreshold(), `restored copy: threshold ${when}`);
        assert.equal(twin.pendingCount, alg.pendingCount, `restored copy: pending ${when}`);
        assert.deepEqual(twin.frameSize(), alg.frameSize(), `restored copy: frame ${when}`);
      }
    }
  };

  const checkSuggestions = (asked: Suggestion[], k: number, before: number, when: string): void => {
    assert.ok(asked.length <= k, `${asked.length} points for ask(${k}) ${when}`);
    if (firstStop !== null) assert.equal(asked.length, 0, `suggestions after a stop ${when}`);
    const max = problem.maxEvaluations;
    if (max !== null && asked.length > 0)
      assert.ok(before + asked.length <= max, `budget ${max} exceeded: ${before} + ${asked.length} ${when}`);
    for (const s of asked) {
      const key = cacheKey(s.x);
      assert.ok(!told.has(key), `suggested a point told before: ${s.x} ${when}`);
      assert.ok(!inFlight.has(key), `suggested a point in flight: ${s.x} ${when}`);
      assert.ok(!suggested.has(key), `suggested twice: ${s.x} ${when}`);
      problem.variables.forEach((v, i) => {
        const x = s.x[i];
        const lb = v.type === 'B' ? 0 : v.lowerBound;
        const ub = v.type === 'B' ? 1 : v.upperBound;
        const g = v.type === 'I' || v.type === 'B' ? Math.max(1, v.granularity) : v.granularity;
        assert.ok(Number.isFinite(x), `non-finite ${s.x} ${when}`);
        if (lb !== null) assert.ok(x >= lb, `below bound: ${s.x} ${when}`);
        if (ub !== null) assert.ok(x <= ub, `above bound: ${s.x} ${when}`);
        if (g > 0) assert.ok(isMultipleOf(x, g), `off granularity ${g}: ${s.x} ${when}`);
        if (v.fixedValue !== null) assert.equal(x, v.fixedValue, `fixed value changed ${when}`);
      });
      suggested.add(key);
      inFlight.set(key, s.x);
    }
  };

  const ask = (k: number, when: string): void => {
    const before = told.size + inFlight.size;
    const nothingOut = inFlight.size === 0;
    const asked = alg.ask(k);
    if (twin !== null) assert.equal(json(twin.ask(k)), json(asked), `restored copy asks otherwise ${when}`);
    checkSuggestions(asked, k, before, when);
    if (nothingOut && k > 0)
      assert.ok(asked.length > 0 || alg.stopReason !== null, `stall: nothing in flight, nothing asked ${when}`);
    checkCommon(when);
  };

  const tell = (results: EvaluationResult[], when: string): void => {
    alg.tell(results);
    if (twin !== null) replay(twin, { op: 'tell', results });
    for (const r of results) {
      const key = cacheKey(r.x);
      const prior = told.get(key);
      if (prior === undefined) told.set(key, { x: r.x, outputs: r.outputs });
      else if (r.resumed === true && reading(types, prior.outputs) === null) prior.outputs = r.outputs;
      inFlight.delete(key);
    }
    checkCommon(when);
    checkIncumbent(when);
  };

  const stop = (when: string): void => {
    alg.stop();
    twin?.stop();
    checkCommon(when);
    checkIncumbent(when);
  };

  const roundTrip = (when: string): void => {
    const text = JSON.stringify(alg.toJSON());
    const restored = restoreAlgorithm(flavour.name, JSON.parse(text));
    assert.equal(JSON.stringify(restored.toJSON()), text, `round trip changed the state ${when}`);
    if (alg instanceof Mads && restored instanceof Mads)
      assert.equal(json(restored.bestFeasible()), json(alg.bestFeasible()), `round trip changed the incumbent ${when}`);
    twin = restored;
  };

  const step = (r: Round, i: number): void => {
    const when = `(round ${i})`;
    if (r.stop) stop(when);
    if (r.roundTrip) roundTrip(when);
    ask(r.k, when);
    const out = shuffled([...inFlight.values()], r.order);
    const results: EvaluationResult[] = out
      .slice(0, Math.ceil(out.length * r.tellShare))
      .map((x) => ({ x, outputs: outputsAt(types, landscape, x) }));
    if (r.resume) {
      // A paused trial told failed comes back with its value (resumed: not a new evaluation).
      const failed = [...told.values()].filter((t) => t.outputs === null);
      const t = failed[r.order % Math.max(1, failed.length)];
      if (t !== undefined) {
        const value = outputsAt(types, { ...landscape, fail: 0 }, t.x);
        results.splice(r.order % (results.length + 1), 0, { x: t.x, outputs: value, resumed: true });
      }
    }
    if (r.unsolicited) {
      // A result for a point never suggested (a user's enqueued trial): an X0, maybe before its
      // ask, or any valid point of the space.
      const x =
        r.order % 2 === 0
          ? [...problem.x0[(r.order >> 1) % problem.x0.length]]
          : problem.variables.map((v, i) => v.fixedValue ?? valueAt(v, hash([r.order, i])));
      if (!inFlight.has(cacheKey(x))) results.push({ x, outputs: outputsAt(types, landscape, x) });
    }
    if (r.duplicate && results.length > 0) results.push(structuredClone(results[r.order % results.length]));
    if (results.length > 0) tell(shuffled(results, r.order + 1), when);
    if (r.mark) {
      // Marked points count against the budget and are never suggested; their results come later.
      const x = problem.x0[(r.order + 1) % problem.x0.length];
      const key = cacheKey(x);
      if (!told.has(key) && !inFlight.has(key)) {
        alg.markInFlight([x]);
        if (twin !== null) replay(twin, { op: 'markInFlight', points: [[...x]] });
        inFlight.set(key, [...x]);
      }
    }
  };

  rounds.forEach(step);
  // Drain: results told after the stop count as well; a run without a budget ends with a user stop.
  if (problem.maxEvaluations === null) stop('(final stop)');
  for (let i = 0; i < 400 && !(alg.stopReason !== null && inFlight.size === 0); i++) {
    ask(4, `(drain ${i})`);
    if (inFlight.size === 0) break;
    const [x] = inFlight.values();
    tell([{ x, outputs: outputsAt(types, landscape, x) }], `(drain ${i})`);
  }
  assert.notEqual(alg.stopReason, null, 'the run ended without a stop');
  checkIncumbent('(end)');
  // Cost, counted rather than timed: the state grows linearly with the points known, no hidden
  // growth (a queue, a list of late ids, a cache of ignored duplicates). Observed at most ~120
  // characters per point (n ≤ 20, hunt mode, 2026-12-05); the bound leaves room for 2n-point queues.
  const points = told.size + inFlight.size;
  const growth = JSON.stringify(alg.toJSON()).length - initialSize;
  stats.maxStatePerPoint = Math.max(stats.maxStatePerPoint, growth / Math.max(1, points));
  assert.ok(growth <= 200 * (problem.variables.length + 1) * (points + 1), `state grew ${growth} for ${points} points`);
  const copy = twin as StudyAlgorithm | null;
  if (copy !== null)
    assert.equal(JSON.stringify(copy.toJSON()), JSON.stringify(alg.toJSON()), 'restored copy diverged');
  stats.runs++;
  stats.evaluations += told.size;
  stats.roundTrips += copy === null ? 0 : 1;
}

const SEED = process.env.INVARIANTS_SEED === undefined ? 20261205 : Number(process.env.INVARIANTS_SEED);
const RUNS = process.env.INVARIANTS_RUNS === undefined ? 60 : Number(process.env.INVARIANTS_RUNS);
/** INVARIANTS_HUNT=1: larger problems, budgets and schedules, for exploration (not CI). */
const HUNT = process.env.INVARIANTS_HUNT !== undefined;

for (const flavour of FLAVOURS) {
  test(`invariants: ${flavour.label} keeps the ask/tell contract on random problems and schedules`, () => {
    Object.assign(stats, { runs: 0, evaluations: 0, roundTrips: 0, maxStatePerPoint: 0 });
    fc.assert(
      fc.property(
        HUNT ? randomProblemArb(Number(process.env.INVARIANTS_HUNT_VARIABLES ?? 8), 200) : randomProblemArb(),
        landscapeArb,
        fc.array(roundArb, { minLength: 1, maxLength: HUNT ? 80 : 30 }),
        madsOptionsArb,
        (rp, landscape, rounds, drawn) => checkSchedule(flavour, rp, drawn, landscape, rounds),
      ),
      {
        numRuns: RUNS,
        seed: SEED,
        path: process.env.INVARIANTS_PATH,
        endOnFailure: process.env.INVARIANTS_NO_SHRINK !== undefined,
        includeErrorInReport: true,
      },
    );
    if (process.env.INVARIANTS_STATS !== undefined) console.log(flavour.label, JSON.stringify(stats));
  });
}
