/**
 * The meshtune preset (docs/algorithm.md, "Presets"): the asynchronous pipeline, late
 * successes and restarts on the minimum mesh — determinism, exact state round trips with
 * points in flight, no duplicate suggestions, the budget used to the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ProblemSpec, Suggestion } from '../optimizer-contract/algorithm';
import { InvalidOptionsError } from '../optimizer-contract/algorithm-errors';
import { Mads, type MadsOptions } from './index';
import { frameSizes, refine, type MeshState } from './mesh';
import { int, ROSENBROCK_3D, rosenbrockOutputs } from './testing/fixtures';

/** Shaped like a small LoRA grid: rank index, alpha multiplier, dropout index (issue 15). */
const LORA_LIKE: ProblemSpec = {
  variables: [int(0, 5), int(1, 4), int(0, 4)],
  outputTypes: ['OBJ'],
  x0: [[0, 1, 0]],
  maxEvaluations: 60,
  seed: 1,
};
const loraLike = (x: readonly number[]): number[] => [(x[0] - 3.4) ** 2 + 0.5 * (x[1] - 2.2) ** 2 + (x[2] - 1.3) ** 2];

interface Runner {
  x: number[];
  finish: number;
}

/**
 * q runners in simulated time: durations from a fixed cycle, the earliest finisher tells and
 * asks again. Optionally round-trips the state through JSON after every tell.
 */
function runAsync(
  problem: ProblemSpec,
  f: (x: readonly number[]) => number[],
  q: number,
  options: Partial<MadsOptions>,
  roundTrip = false,
): { mads: Mads; asked: Suggestion[] } {
  let mads = Mads.create(problem, options);
  const durations = [1.3, 0.6, 1.1, 0.9, 1.45, 0.7, 1.0, 0.55];
  const running: Runner[] = [];
  const asked: Suggestion[] = [];
  let now = 0;
  for (let k = 0; ; k++) {
    if (mads.stopReason === null) {
      for (const s of mads.ask(q - running.length)) {
        asked.push(s);
        running.push({ x: s.x, finish: now + durations[asked.length % durations.length] });
      }
    }
    if (running.length === 0) break;
    running.sort((a, b) => a.finish - b.finish);
    const done = running.shift() as Runner;
    now = done.finish;
    mads.tell([{ x: done.x, outputs: f(done.x) }]);
    if (roundTrip && k % 3 === 0) mads = Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON())));
  }
  return { mads, asked };
}

test('presets: meshtune is the default; nomad4 switches the pipeline, late successes and restarts off; explicit options win', () => {
  const defaults = Mads.create(ROSENBROCK_3D).toJSON().options;
  assert.equal(defaults.preset, 'meshtune');
  assert.ok(defaults.pipelineIterations > 0 && defaults.lateSuccess && defaults.restartOnMinMesh);
  const nomad4 = Mads.create(ROSENBROCK_3D, { preset: 'nomad4' }).toJSON().options;
  assert.deepEqual([nomad4.pipelineIterations, nomad4.lateSuccess, nomad4.restartOnMinMesh], [0, false, false]);
  const mixed = Mads.create(ROSENBROCK_3D, { preset: 'nomad4', restartOnMinMesh: true }).toJSON().options;
  assert.equal(mixed.restartOnMinMesh, true);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { preset: 'nomad5' as never }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { pipelineIterations: -1 }), InvalidOptionsError);
});

test('sequential ask(1)/tell: the options the meshtune preset changes for points in flight change nothing without them; its restarts go on where nomad4 stops', () => {
  const problem = { ...LORA_LIKE, maxEvaluations: 200 };
  // The meshtune preset itself also keeps three rules of its own where nomad4 has NOMAD's (the
  // inner MADS's last poll, incumbents after a failed search, the ORTHO N+1 second pass's order;
  // docs/algorithm.md, "The nomad4 preset on integer and constrained spaces"), so the comparison
  // is within nomad4. Without restarts: they start after 10 iterations without a new point, where
  // nomad4 may still find one (MAX_EMPTY_ITERATIONS_BEFORE_RESTART, engine.ts).
  const inFlightOptions = { pipelineIterations: 4, lateSuccess: true, refineAhead: 2 };
  const a = runAsync(problem, loraLike, 1, { preset: 'nomad4', ...inFlightOptions });
  const b = runAsync(problem, loraLike, 1, { preset: 'nomad4' });
  assert.deepEqual(
    a.asked.map((s) => s.x),
    b.asked.map((s) => s.x),
  );
  const withRestarts = runAsync(problem, loraLike, 1, { surrogateSearch: false, nmModelFactor: 0 });
  assert.ok(b.asked.length < withRestarts.asked.length);
});

test('with 4 runners the pipeline is deterministic and a state round trip every third tell changes nothing', () => {
  const first = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, {});
  const again = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, {});
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, {}, true);
  assert.deepEqual(again.asked, first.asked);
  assert.deepEqual(restored.asked, first.asked);
  assert.deepEqual(restored.mads.toJSON(), first.mads.toJSON());
  assert.equal(first.asked.length, ROSENBROCK_3D.maxEvaluations);
});

test('the pipeline keeps search points with 4 runners: they are not all poll points', () => {
  const { asked } = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, {});
  const search = asked.filter((s) => s.origin === 'search').length;
  const nomad4 = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, { preset: 'nomad4' }).asked.filter(
    (s) => s.origin === 'search',
  ).length;
  assert.ok(search > nomad4, `search points: meshtune ${search}, nomad4 ${nomad4}`);
});

test('modelIdlePoints: idle runners get quadratic-model points, deterministic across state round trips; sequential runs are unchanged', () => {
  const options: Partial<MadsOptions> = { modelIdlePoints: 2, modelIdleFirst: true };
  const withModel = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, options);
  const without = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, { modelIdlePoints: 0 });
  const searchPoints = (asked: Suggestion[]) => asked.filter((s) => s.origin === 'search').length;
  assert.ok(
    searchPoints(withModel.asked) > searchPoints(without.asked),
    `search points: ${searchPoints(withModel.asked)} with, ${searchPoints(without.asked)} without`,
  );
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, options, true);
  assert.deepEqual(restored.asked, withModel.asked);
  assert.deepEqual(restored.mads.toJSON(), withModel.mads.toJSON());
  assert.equal(withModel.asked.length, ROSENBROCK_3D.maxEvaluations);
  const sequential = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, options).asked.map((s) => s.x);
  assert.deepEqual(
    sequential,
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, { modelIdlePoints: 0 }).asked.map((s) => s.x),
  );
  assert.throws(() => Mads.create(ROSENBROCK_3D, { modelIdlePoints: 17 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { modelIdleFirst: 'yes' as never }), InvalidOptionsError);
});

test('idleSurrogatePoints (opt-in): with more than 2n points in flight idle runners get Gaussian-process points instead of fresh poll bases; fewer runners, sequential runs and state round trips unchanged', () => {
  const options: Partial<MadsOptions> = { idleSurrogatePoints: 4 };
  const searchPoints = (asked: Suggestion[]) => asked.filter((s) => s.origin === 'search').length;
  // ROSENBROCK_3D has n = 3: 16 runners keep up to 15 points in flight when one asks (≥ 2n = 6).
  const withGp = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options);
  const without = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, {});
  assert.ok(
    searchPoints(withGp.asked) > searchPoints(without.asked),
    `search points: ${searchPoints(withGp.asked)} with, ${searchPoints(without.asked)} without`,
  );
  assert.equal(withGp.asked.length, ROSENBROCK_3D.maxEvaluations);
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options, true);
  assert.deepEqual(restored.asked, withGp.asked);
  assert.deepEqual(restored.mads.toJSON(), withGp.mads.toJSON());
  // 4 runners: at most 3 points in flight when one asks, below 2n: the option never acts.
  assert.deepEqual(
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, options).asked,
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 4, {}).asked,
  );
  assert.deepEqual(
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, options).asked,
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, {}).asked,
  );
  assert.throws(() => Mads.create(ROSENBROCK_3D, { idleSurrogatePoints: 17 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { idleSurrogatePoints: 1.5 }), InvalidOptionsError);
});

test("idleFrameRefinements (opt-in): past X0, fresh idle bases poll the next iterations' smaller frames, the k-th on the frame refined 1 + (k mod r) times; the X0 batch, sequential runs and state round trips unchanged", () => {
  // X0 told, then one burst of asks and no result: the pipeline releases steps up to its depth,
  // then idle filling ends with the step's 4 fresh ORTHO 2N bases around X0 (n = 3: 6 points
  // each), the last 24 points, before `ask` runs out of points.
  const problem: ProblemSpec = { ...ROSENBROCK_3D, maxEvaluations: 1000 };
  const burst = (options: Partial<MadsOptions>): { frame: number; refined: number[]; bases: number[] } => {
    const mads = Mads.create(problem, options);
    const [x0] = mads.ask(1);
    mads.tell([{ x: x0.x, outputs: rosenbrockOutputs(x0.x) }]);
    const asked = mads.ask(1000);
    assert.ok(asked.length > 24 && asked.length < 1000);
    const displacement = (s: Suggestion): number => Math.max(...s.x.map((v, i) => Math.abs(v - x0.x[i])));
    // The frame after one and two more refinements (GMesh: 1 → 0.5 → 0.2 × 10^b), on a copy.
    const mesh = structuredClone((mads as unknown as { s: { mesh: MeshState } }).s.mesh);
    const refined = [1, 2].map(() => {
      refine(mesh);
      return frameSizes(mesh)[0];
    });
    return { frame: mads.frameSize()[0], refined, bases: asked.slice(-24).map(displacement) };
  };
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, b);
  const plain = burst({});
  assert.ok(
    plain.bases.every((d) => close(d, plain.frame)),
    `default: ${plain.bases.join(', ')} on Δ ${plain.frame}`,
  );
  const refined = burst({ idleFrameRefinements: 2 });
  assert.equal(refined.frame, plain.frame);
  const expected = [0, 1, 0, 1].flatMap((k) => new Array<number>(6).fill(refined.refined[k]));
  assert.ok(expected[0] < plain.frame && expected[6] < expected[0]);
  assert.ok(
    refined.bases.every((d, i) => close(d, expected[i])),
    `r = 2: ${refined.bases.join(', ')} against ${expected.join(', ')}`,
  );
  // While X0 is out the bases stay on the initial frame (the first look around X0).
  assert.deepEqual(Mads.create(problem, { idleFrameRefinements: 2 }).ask(16), Mads.create(problem, {}).ask(16));
  const options: Partial<MadsOptions> = { idleFrameRefinements: 2 };
  const run = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options);
  assert.equal(run.asked.length, ROSENBROCK_3D.maxEvaluations);
  assert.equal(new Set(run.asked.map((s) => s.x.join(','))).size, run.asked.length);
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options, true);
  assert.deepEqual(restored.asked, run.asked);
  assert.deepEqual(
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, options).asked,
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, {}).asked,
  );
  assert.throws(() => Mads.create(ROSENBROCK_3D, { idleFrameRefinements: 5 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { idleFrameRefinements: 0.5 }), InvalidOptionsError);
});

test('maxInFlight (opt-in): never more than that many simplex gradients in flight, the budget still used; deterministic across state round trips; sequential runs unchanged', () => {
  const options: Partial<MadsOptions> = { maxInFlight: 2 };
  // ROSENBROCK_3D has n = 3: at most 2·(3 + 1) = 8 points in flight with 16 runners.
  const capped = Mads.create(ROSENBROCK_3D, options);
  const first = capped.ask(16);
  assert.equal(first.length, 8);
  assert.equal(capped.ask(16).length, 0);
  capped.tell([{ x: first[0].x, outputs: rosenbrockOutputs(first[0].x) }]);
  assert.equal(capped.ask(16).length, 1);
  assert.ok(Mads.create(ROSENBROCK_3D, {}).ask(16).length > 8);
  const run = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options);
  assert.equal(run.asked.length, ROSENBROCK_3D.maxEvaluations);
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options, true);
  assert.deepEqual(restored.asked, run.asked);
  assert.deepEqual(restored.mads.toJSON(), run.mads.toJSON());
  assert.deepEqual(
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, options).asked.map((s) => s.x),
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, {}).asked.map((s) => s.x),
  );
  assert.throws(() => Mads.create(ROSENBROCK_3D, { maxInFlight: -1 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { maxInFlight: 101 }), InvalidOptionsError);
});

test('refineAhead (meshtune 2, nomad4 16 = no limit): the pipeline refines ahead of the evidence at most that many times; the rest waits for the failures, a late success drops it; deterministic across state round trips; sequential runs unchanged', () => {
  const volume = (m: Mads) => m.frameSize().reduce((p, v) => p * v, 1);
  const afterBurst = (options: Partial<MadsOptions>) => {
    const mads = Mads.create(ROSENBROCK_3D, options);
    const [x0] = mads.ask(1);
    mads.tell([{ x: x0.x, outputs: rosenbrockOutputs(x0.x) }]);
    const initial = volume(mads);
    return { mads, initial, burst: mads.ask(16) };
  };
  assert.equal(Mads.create(ROSENBROCK_3D).toJSON().options.refineAhead, 2);
  assert.equal(Mads.create(ROSENBROCK_3D, { preset: 'nomad4' }).toJSON().options.refineAhead, 16);
  // 16 asks on no evidence: without a limit the pipeline refines once per released iteration, 0 never, 1 once.
  const byDefault = afterBurst({ refineAhead: 16 });
  const none = afterBurst({ refineAhead: 0 });
  const one = afterBurst({ refineAhead: 1 });
  assert.ok(volume(byDefault.mads) < volume(one.mads), `${volume(byDefault.mads)} vs ${volume(one.mads)}`);
  assert.ok(volume(one.mads) < one.initial);
  assert.equal(volume(none.mads), none.initial);
  // The failures arrive: the deferred refinements are paid.
  const fail = (m: Mads, xs: Suggestion[]) => m.tell(xs.map((s) => ({ x: s.x, outputs: [1e12] })));
  fail(none.mads, none.burst);
  assert.ok(volume(none.mads) < none.initial);
  // A late success of the first iteration's points: its refinement is dropped, the frame enlarged.
  const success = afterBurst({ refineAhead: 0 });
  success.mads.tell([{ x: success.burst[0].x, outputs: [-1e9] }]);
  fail(success.mads, success.burst.slice(1));
  assert.ok(volume(success.mads) > volume(none.mads), `${volume(success.mads)} vs ${volume(none.mads)}`);

  const options: Partial<MadsOptions> = { refineAhead: 1 };
  const run = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options);
  assert.equal(run.asked.length, ROSENBROCK_3D.maxEvaluations);
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 16, options, true);
  assert.deepEqual(restored.asked, run.asked);
  assert.deepEqual(restored.mads.toJSON(), run.mads.toJSON());
  assert.deepEqual(
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, { refineAhead: 0 }).asked.map((s) => s.x),
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, { refineAhead: 16 }).asked.map((s) => s.x),
  );
  assert.throws(() => Mads.create(ROSENBROCK_3D, { refineAhead: -1 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { refineAhead: 17 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { refineAhead: 1.5 }), InvalidOptionsError);
});

test('quadModelFit minNorm (opt-in): other model points than prs, deterministic across state round trips; the defaults stay prs', () => {
  const minNorm = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, { quadModelFit: 'minNorm' });
  const prs = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, { quadModelFit: 'prs' });
  assert.notDeepEqual(
    minNorm.asked.map((s) => s.x),
    prs.asked.map((s) => s.x),
  );
  const restored = runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, { quadModelFit: 'minNorm' }, true);
  assert.deepEqual(restored.asked, minNorm.asked);
  assert.deepEqual(restored.mads.toJSON(), minNorm.mads.toJSON());
  // Neither preset changes its default (the nomad4 golden traces and the meshtune figures of
  // docs/benchmarks.md stay what they were).
  assert.deepEqual(
    runAsync(ROSENBROCK_3D, rosenbrockOutputs, 1, {}).asked.map((s) => s.x),
    prs.asked.map((s) => s.x),
  );
  assert.throws(() => Mads.create(ROSENBROCK_3D, { quadModelFit: 'mfn' as never }), InvalidOptionsError);
});

test('restartOnMinMesh: on a small integer grid the whole budget is used where nomad4 stops early', () => {
  const nomad4 = runAsync(LORA_LIKE, loraLike, 1, { preset: 'nomad4' }).mads;
  assert.deepEqual(nomad4.stopReason, { kind: 'MIN_MESH_SIZE_REACHED' });
  assert.ok(nomad4.evaluationCount < LORA_LIKE.maxEvaluations!);
  const meshtune = runAsync(LORA_LIKE, loraLike, 1, {}).mads;
  assert.deepEqual(meshtune.stopReason, { kind: 'MAX_BB_EVAL', evaluations: LORA_LIKE.maxEvaluations });
  assert.ok(meshtune.bestFeasible()!.f <= nomad4.bestFeasible()!.f);
  assert.equal(nomad4.restartCount, 0);
});

test('restarts stop once the grid is exhausted: MIN_MESH_SIZE_REACHED with every point evaluated', () => {
  const tiny: ProblemSpec = { ...LORA_LIKE, variables: [int(0, 2), int(0, 2)], x0: [[0, 0]], maxEvaluations: 100 };
  const { mads, asked } = runAsync(tiny, (x) => [(x[0] - 1.2) ** 2 + (x[1] - 0.7) ** 2], 4, {});
  assert.deepEqual(mads.stopReason, { kind: 'MIN_MESH_SIZE_REACHED' });
  assert.equal(new Set(asked.map((s) => s.x.join())).size, 9);
  // restartCount: where NOMAD would have stopped on the mesh the meshtune preset restarted (read by
  // the service's `revive`, early-stopping/pause-and-resume.ts); it survives a restore.
  assert.ok(mads.restartCount > 0);
  assert.equal(Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON()))).restartCount, mads.restartCount);
});

test('a state written before presets existed (no preset, flights or restart keys) restores as nomad4', () => {
  const mads = Mads.create(ROSENBROCK_3D, { preset: 'nomad4' });
  mads.tell(mads.ask(3).map((s) => ({ x: s.x, outputs: rosenbrockOutputs(s.x) })));
  const state = JSON.parse(JSON.stringify(mads.toJSON())) as Record<string, unknown>;
  const options = state.options as Record<string, unknown>;
  for (const key of ['preset', 'pipelineIterations', 'lateSuccess', 'restartOnMinMesh']) delete options[key];
  delete state.flights;
  delete state.restart;
  const old = Mads.fromJSON(state);
  assert.deepEqual(old.toJSON(), mads.toJSON());
  assert.deepEqual(old.ask(4), mads.ask(4));
});

test('property: with any number of runners and any finishing order, no point is ever suggested twice', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 16 }),
      fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
      fc.constantFrom<ProblemSpec>(LORA_LIKE, { ...ROSENBROCK_3D, maxEvaluations: 60 }),
      (q, picks, problem) => {
        const f = problem === LORA_LIKE ? loraLike : rosenbrockOutputs;
        const mads = Mads.create(problem);
        const seen = new Set<string>();
        const running: number[][] = [];
        for (let k = 0; k < 200; k++) {
          if (mads.stopReason === null) {
            for (const s of mads.ask(q - running.length)) {
              const key = s.x.join();
              assert.ok(!seen.has(key), `suggested twice: ${key}`);
              seen.add(key);
              running.push(s.x);
            }
          }
          if (running.length === 0) break;
          const [x] = running.splice(picks[k % picks.length] % running.length, 1);
          mads.tell([{ x, outputs: f(x) }]);
        }
        assert.ok(seen.size <= problem.maxEvaluations!);
      },
    ),
    { numRuns: 25, seed: 15 },
  );
});
