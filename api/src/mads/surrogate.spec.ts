/**
 * The surrogate search (search/surrogate.ts, docs/algorithm.md, "Surrogate search"):
 * determinism, candidates on the mesh and inside the bounds, never an evaluated or pending
 * point, integer and granular spaces, points in flight spread out, the nomad4 preset without
 * it, and the cost of an ask/tell at 100 evaluations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ProblemSpec, VariableSpec } from '../optimizer-contract/algorithm';
import { Mads, type MadsOptions } from './index';
import { meshSizeOf } from './mesh';
import { fitGp, normalCdf, normalQuantile, predictGp } from './model/gp';
import { pollCentres } from './poll';
import { surrogateCandidates } from './search/surrogate';
import { stateFromJson } from './serialization';
import { cacheKey } from './space';

const real = (lowerBound: number, upperBound: number, granularity = 0): VariableSpec => ({
  type: 'R',
  lowerBound,
  upperBound,
  granularity,
  fixedValue: null,
});
const int = (lowerBound: number, upperBound: number): VariableSpec => ({
  type: 'I',
  lowerBound,
  upperBound,
  granularity: 0,
  fixedValue: null,
});

const quadratic =
  (shift: readonly number[]) =>
  (x: readonly number[]): number[] => [x.reduce((s, v, i) => s + (v - shift[i]) ** 2, 0)];

/** Sequential ask(1)/tell for `evaluations` points; returns the engine and what it asked. */
function runSequential(
  problem: ProblemSpec,
  f: (x: readonly number[]) => number[],
  evaluations: number,
  options: Partial<MadsOptions> = {},
): { mads: Mads; asked: number[][] } {
  // The step is opt-in (docs/algorithm.md, "Presets"): on here unless a test says otherwise.
  const mads = Mads.create(problem, options.preset === 'nomad4' ? options : { surrogateSearch: true, ...options });
  const asked: number[][] = [];
  while (asked.length < evaluations && mads.stopReason === null) {
    const [s] = mads.ask(1);
    if (s === undefined) break;
    asked.push(s.x);
    mads.tell([{ x: s.x, outputs: f(s.x) }]);
  }
  return { mads, asked };
}

/** Checks every candidate of the state's surrogate search against the mesh, bounds and cache. */
function checkCandidates(mads: Mads, problem: ProblemSpec): number[][] {
  const state = stateFromJson(mads.toJSON());
  const cands = surrogateCandidates(state, 5);
  const centreId = pollCentres(state).primary!;
  const centre = state.cache.get(centreId).x;
  const keys = new Set<string>();
  for (const c of cands) {
    assert.equal(c.origin, 'search');
    assert.ok(!state.cache.has(c.x), 'an evaluated or pending point was proposed');
    assert.ok(!keys.has(cacheKey(c.x)), 'duplicate candidate');
    keys.add(cacheKey(c.x));
    problem.variables.forEach((v, i) => {
      assert.ok(c.x[i] >= v.lowerBound! && c.x[i] <= v.upperBound!, `x${i} = ${c.x[i]} outside the bounds`);
      if (v.type === 'I') assert.ok(Number.isInteger(c.x[i]), `x${i} = ${c.x[i]} not an integer`);
      if (v.granularity > 0) {
        const k = c.x[i] / v.granularity;
        assert.ok(Math.abs(k - Math.round(k)) < 1e-9, `x${i} = ${c.x[i]} off the granularity`);
      }
      const k = state.space.free.indexOf(i);
      const delta = meshSizeOf(state.mesh, k);
      const atBound = c.x[i] === v.lowerBound || c.x[i] === v.upperBound;
      const steps = (c.x[i] - centre[i]) / delta;
      // On the mesh around the incumbent, or clipped to a bound (§2.5, as poll points are).
      assert.ok(atBound || Math.abs(steps - Math.round(steps)) < 1e-7, `x${i} = ${c.x[i]} off the mesh`);
    });
  }
  return cands.map((c) => c.x);
}

test('GP: interpolates its training points, is uncertain far from them, normal helpers agree', () => {
  const xs = [[0.1], [0.4], [0.5], [0.9]];
  const ys = [[1, -0.5, -1, 0.5]];
  const model = fitGp(xs, ys)!;
  for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(predictGp(model, xs[i]).mean[0] - ys[0][i]) < 0.2);
  assert.ok(predictGp(model, [0.7]).variance > predictGp(model, [0.4]).variance);
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  assert.ok(Math.abs(normalQuantile(0.01) + 2.326348) < 1e-5);
});

test('candidates: deterministic, on the mesh, inside the bounds, never evaluated (continuous, integer, granular)', () => {
  const problems: ProblemSpec[] = [
    {
      variables: [real(-5, 5), real(-5, 5), real(0, 1)],
      outputTypes: ['OBJ'],
      x0: [[4, -4, 0.9]],
      maxEvaluations: 200,
      seed: 2,
    },
    {
      variables: [int(0, 7), int(1, 4), int(0, 9)],
      outputTypes: ['OBJ'],
      x0: [[0, 1, 0]],
      maxEvaluations: 200,
      seed: 5,
    },
    { variables: [real(-2, 2, 0.05), int(-3, 3)], outputTypes: ['OBJ'], x0: [[1.5, -3]], maxEvaluations: 200, seed: 0 },
  ];
  for (const problem of problems) {
    const f = quadratic([1.3, 2.2, 0.4].slice(0, problem.variables.length));
    for (const evaluations of [3, 12, 40]) {
      const { mads } = runSequential(problem, f, evaluations);
      const first = checkCandidates(mads, problem);
      assert.ok(first.length > 0, 'the surrogate search proposed nothing');
      assert.deepEqual(checkCandidates(mads, problem), first); // same state, same candidates
      assert.deepEqual(checkCandidates(Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON()))), problem), first);
    }
  }
});

test('property: any seed, small integer or mixed box, any budget: sequential runs never repeat a point and stay valid', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 50 }),
      fc.integer({ min: 2, max: 6 }),
      fc.integer({ min: 5, max: 45 }),
      fc.boolean(),
      (seed, width, budget, mixed) => {
        const problem: ProblemSpec = {
          variables: [int(0, width), mixed ? real(-1, 1, 0.1) : int(0, 3), int(-2, 2)],
          outputTypes: ['OBJ'],
          x0: [[0, 0, 0]],
          maxEvaluations: budget,
          seed,
        };
        const { asked } = runSequential(problem, quadratic([width / 2, 0.3, 1]), budget);
        assert.equal(new Set(asked.map((x) => cacheKey(x))).size, asked.length);
        for (const x of asked) {
          problem.variables.forEach((v, i) => {
            assert.ok(x[i] >= v.lowerBound! && x[i] <= v.upperBound!);
            if (v.type === 'I') assert.ok(Number.isInteger(x[i]));
          });
        }
      },
    ),
    { numRuns: 25, seed: 15 },
  );
});

test('deterministic given the seed, different across seeds; nomad4 has no surrogate step', () => {
  const problem: ProblemSpec = {
    variables: [real(-5, 5), real(-5, 5)],
    outputTypes: ['OBJ'],
    x0: [[-4, 4]],
    maxEvaluations: 40,
    seed: 7,
  };
  const f = quadratic([2, 1]);
  const a = runSequential(problem, f, 40).asked;
  assert.deepEqual(runSequential(problem, f, 40).asked, a);
  assert.notDeepEqual(runSequential({ ...problem, seed: 8 }, f, 40).asked, a);
  // Switching the surrogate search off explicitly changes nothing under nomad4: it has none. (The
  // meshtune preset with nomad4's option values is not nomad4: it keeps three rules of its own,
  // docs/algorithm.md, "The nomad4 preset on integer and constrained spaces".)
  const nomad4 = runSequential(problem, f, 40, { preset: 'nomad4' }).asked;
  assert.deepEqual(nomad4, runSequential(problem, f, 40, { preset: 'nomad4', surrogateSearch: false }).asked);
  assert.notDeepEqual(runSequential(problem, f, 40, { preset: 'nomad4', surrogateSearch: true }).asked, nomad4);
  assert.equal(Mads.create(problem, { preset: 'nomad4' }).toJSON().options.surrogateSearch, false);
});

/** Two integer variables and a real one: the space where the surrogate search is on by default. */
const MIXED_3: ProblemSpec = {
  variables: [int(0, 20), int(0, 20), real(0, 1)],
  outputTypes: ['OBJ'],
  x0: [[0, 0, 0]],
  maxEvaluations: 100,
  seed: 1,
};

test('points in flight enter the model: idle runners get different, valid points', () => {
  const problem = MIXED_3;
  const { mads } = runSequential(problem, quadratic([13, 6, 0.7]), 12);
  const batch = mads.ask(8);
  assert.equal(batch.length, 8);
  assert.equal(new Set(batch.map((s) => cacheKey(s.x))).size, 8);
  assert.ok(batch.filter((s) => s.origin === 'search').length >= 2, 'idle runners got no surrogate point');
});

test('PB constraints: the model proposes points, and a run finds a feasible point', () => {
  const problem: ProblemSpec = {
    variables: [real(-5, 5), real(-5, 5)],
    outputTypes: ['OBJ', 'PB'],
    x0: [[-4, -4]],
    maxEvaluations: 60,
    seed: 3,
  };
  const f = (x: readonly number[]): number[] => [(x[0] - 2) ** 2 + (x[1] - 2) ** 2, 1 - x[0] - x[1]];
  const { mads } = runSequential(problem, f, 60);
  assert.ok(mads.bestFeasible() !== null);
  assert.ok(mads.bestFeasible()!.f < 0.5);
});

test("meshtune default: 'sequential' surrogate search on integer spaces only; same sequential run as `true`, no idle surrogate points", () => {
  const problem = MIXED_3;
  const continuous: ProblemSpec = { ...problem, variables: [real(0, 20), real(0, 20), real(0, 1)] };
  assert.equal(Mads.create(problem).toJSON().options.surrogateSearch, 'sequential');
  assert.equal(Mads.create(continuous).toJSON().options.surrogateSearch, false);
  assert.equal(Mads.create(problem, { preset: 'nomad4' }).toJSON().options.surrogateSearch, false);
  assert.throws(() => Mads.create(problem, { surrogateSearch: 'always' as never }), /options\.surrogateSearch/);

  // Sequential use (no point ever in flight at an ask): the mode is the surrogate search itself.
  const f = quadratic([13, 6, 0.7]);
  const sequential = runSequential(problem, f, 40, { surrogateSearch: 'sequential' }).asked;
  assert.deepEqual(sequential, runSequential(problem, f, 40, { surrogateSearch: true }).asked);
  assert.notDeepEqual(sequential, runSequential(problem, f, 40, { surrogateSearch: false }).asked);

  // 40 points in flight, enough to reach idle filling (after 6 sequential evaluations, before the step's 2(n+1) start, so the
  // three runs share their past): idle runners get what they would get without the surrogate.
  const batch = (surrogateSearch: MadsOptions['surrogateSearch']): number[][] =>
    runSequential(problem, f, 6, { surrogateSearch })
      .mads.ask(40)
      .map((s) => s.x);
  assert.deepEqual(batch('sequential'), batch(false));
  assert.notDeepEqual(batch(true), batch(false));
});
