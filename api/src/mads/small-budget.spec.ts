/**
 * Options for small budgets (issue 15, item 2; docs/algorithm.md, "Options"): the trust-region
 * quadratic-model search, the bounded frame and model points in the Nelder–Mead slot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { InvalidOptionsError } from '../optimizer-contract/algorithm-errors';
import { Mads, type MadsOptions } from './index';
import { frameSizes } from './mesh';
import { quadSearchCandidates } from './search/quad-model';
import { toFree } from './space';
import type { EngineState } from './state';
import { real, ROSENBROCK_3D, rosenbrockOutputs } from './testing/fixtures';

/** Sequential ask(1)/tell for `count` evaluations; with `roundTrip`, through JSON every third tell. */
function run(options: Partial<MadsOptions>, count: number, roundTrip = false): { mads: Mads; asked: number[][] } {
  let mads = Mads.create(ROSENBROCK_3D, options);
  const asked: number[][] = [];
  for (let k = 0; k < count && mads.stopReason === null; k++) {
    const [s] = mads.ask(1);
    asked.push(s.x);
    mads.tell([{ x: s.x, outputs: rosenbrockOutputs(s.x) }]);
    if (roundTrip && k % 3 === 0) mads = Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON())));
  }
  return { mads, asked };
}

function engineState(mads: Mads): EngineState {
  return (mads as unknown as { s: EngineState }).s;
}

/**
 * Largest |x − incumbent| / (1.5·(QUAD_MODEL_BOX_FACTOR/2)·Δ) over the search's candidates and
 * coordinates (the 1.5: the mesh projection moves a point by at most δ/2 ≤ Δ/2).
 */
function searchReach(state: EngineState): number {
  const centre = toFree(state.space, state.cache.get(state.barrier.incFeas[0]).x);
  const frames = frameSizes(state.mesh);
  let reach = 0;
  for (const c of quadSearchCandidates(state)) {
    toFree(state.space, c.x).forEach((v, i) => {
      const radius = (state.options.quadModelBoxFactor / 2) * frames[i];
      reach = Math.max(reach, Math.abs(v - centre[i]) / (radius * 1.5));
    });
  }
  return reach;
}

test('quadSearchTrustRegion: the model search stays within QUAD_MODEL_BOX_FACTOR/2 frames of the incumbent; the hull box does not', () => {
  // Evaluations at which NOMAD's hull-box model search reached beyond that box (the training box
  // was doubled to hold (n+1)(n+2)/2 points), read from the same run (without the NM slot's model
  // points, which would change the run and not the search's box).
  let hullBeyond = 0;
  for (let count = 20; count <= 110; count += 5) {
    const state = engineState(run({ nmModelFactor: 0 }, count).mads);
    if (state.barrier.incFeas.length === 0) continue;
    if (searchReach(state) > 1) hullBeyond++;
    state.options.quadSearchTrustRegion = true;
    assert.ok(searchReach(state) <= 1, `evaluation ${count}`);
  }
  // The test can fail: without the option the search leaves that box on this run.
  assert.ok(hullBeyond > 0);
});

test('quadSearchTrustRegion: other points than the default, deterministic across state round trips, validated; off by default and in nomad4', () => {
  const on = run({ quadSearchTrustRegion: true }, 120);
  assert.notDeepEqual(on.asked, run({}, 120).asked);
  const restored = run({ quadSearchTrustRegion: true }, 120, true);
  assert.deepEqual(restored.asked, on.asked);
  assert.deepEqual(restored.mads.toJSON(), on.mads.toJSON());
  assert.equal(Mads.create(ROSENBROCK_3D).toJSON().options.quadSearchTrustRegion, false);
  assert.equal(Mads.create(ROSENBROCK_3D, { preset: 'nomad4' }).toJSON().options.quadSearchTrustRegion, false);
  // A state written before the option existed restores with it off (it ran without it).
  const mads = Mads.create(ROSENBROCK_3D, { preset: 'nomad4' });
  mads.tell(mads.ask(3).map((s) => ({ x: s.x, outputs: rosenbrockOutputs(s.x) })));
  const state = JSON.parse(JSON.stringify(mads.toJSON())) as { options: Record<string, unknown> };
  delete state.options.quadSearchTrustRegion;
  assert.deepEqual(Mads.fromJSON(state).toJSON(), mads.toJSON());
  assert.throws(() => Mads.create(ROSENBROCK_3D, { quadSearchTrustRegion: 'yes' as never }), InvalidOptionsError);
});

const BOX: ProblemSpec = {
  variables: [real(-2, 0.5), real(-2, 0.5), real(-2, 0.5), real(-2, 0.5)],
  outputTypes: ['OBJ'],
  x0: [[-1.2, 0.25, -1.2, 0.25]],
  maxEvaluations: 300,
  seed: 1,
};

/** Enlargements of a variable's frame that started from at least half its range, sequential run. */
function enlargementsFromHalfRange(options: Partial<MadsOptions>): number {
  const mads = Mads.create(BOX, options);
  const half = BOX.variables.map((v) => ((v.upperBound as number) - (v.lowerBound as number)) / 2);
  let before = mads.frameSize();
  let count = 0;
  while (mads.stopReason === null) {
    const [s] = mads.ask(1);
    if (s === undefined) break;
    mads.tell([{ x: s.x, outputs: rosenbrockOutputs(s.x) }]);
    const after = mads.frameSize();
    after.forEach((d, i) => {
      if (d > before[i] && before[i] >= half[i]) count++;
    });
    before = after;
  }
  return count;
}

test('boundedFrame: no enlargement of a frame already at half its variable range; NOMAD enlarges past it', () => {
  assert.equal(enlargementsFromHalfRange({ boundedFrame: true }), 0);
  // The test can fail: on this box the default (NOMAD's rule) enlarges past half the range.
  assert.ok(enlargementsFromHalfRange({}) > 0);
  assert.equal(Mads.create(BOX).toJSON().options.boundedFrame, false);
  assert.equal(Mads.create(BOX, { preset: 'nomad4' }).toJSON().options.boundedFrame, false);
  assert.throws(() => Mads.create(BOX, { boundedFrame: 1 as never }), InvalidOptionsError);
});

/** Kind of the step that handed out each point of a sequential ROSENBROCK_3D run, and its iteration. */
function stepKinds(options: Partial<MadsOptions>, count: number): { kind: string; iteration: number }[] {
  const mads = Mads.create(ROSENBROCK_3D, options);
  const kinds: { kind: string; iteration: number }[] = [];
  for (let k = 0; k < count && mads.stopReason === null; k++) {
    const [s] = mads.ask(1);
    const state = engineState(mads);
    const step = state.step;
    const kind = step === null ? 'none' : step.inNmSlot === true ? 'nm-slot-model' : step.kind;
    kinds.push({ kind, iteration: state.iteration });
    mads.tell([{ x: s.x, outputs: rosenbrockOutputs(s.x) }]);
  }
  return kinds;
}

test('nmModelFactor (meshtune 20, nomad4 0): from 5(n+1) to factor·(n+1) evaluations the NM slot holds model points first, NM after them', () => {
  const n1 = ROSENBROCK_3D.variables.length + 1;
  const on = stepKinds({ nmModelFactor: 20 }, 120);
  const count = (list: typeof on, kind: string): number => list.filter((k) => k.kind === kind).length;
  assert.ok(count(on.slice(5 * n1, 20 * n1), 'nm-slot-model') > 0);
  assert.equal(count(on.slice(0, 5 * n1), 'nm-slot-model'), 0);
  assert.equal(count(on.slice(20 * n1), 'nm-slot-model'), 0);
  // Within an iteration, no model point of the slot comes after an NM point.
  on.forEach((k, i) => {
    if (k.kind !== 'nm-slot-model') return;
    assert.ok(!on.slice(0, i).some((p) => p.iteration === k.iteration && p.kind === 'nm'), `evaluation ${i}`);
  });
  // The test can fail: without the option there are no such points, and NM runs in that window.
  const off = stepKinds({ nmModelFactor: 0 }, 120);
  assert.equal(count(off, 'nm-slot-model'), 0);
  assert.ok(count(off.slice(5 * n1, 20 * n1), 'nm') > 0);
  const restored = run({ nmModelFactor: 20 }, 120, true);
  const direct = run({ nmModelFactor: 20 }, 120);
  assert.deepEqual(restored.asked, direct.asked);
  assert.deepEqual(restored.mads.toJSON(), direct.mads.toJSON());
  assert.notDeepEqual(direct.asked, run({ nmModelFactor: 0 }, 120).asked);
  assert.equal(Mads.create(ROSENBROCK_3D).toJSON().options.nmModelFactor, 20);
  assert.equal(Mads.create(ROSENBROCK_3D, { preset: 'nomad4' }).toJSON().options.nmModelFactor, 0);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { nmModelFactor: -1 }), InvalidOptionsError);
  assert.throws(() => Mads.create(ROSENBROCK_3D, { nmModelFactor: 'x' as never }), InvalidOptionsError);
});
