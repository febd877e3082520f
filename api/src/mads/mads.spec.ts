/** Ask/tell behaviour of the MADS engine: asynchrony, late results, budget, stops, state. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { Mads } from './index';

const SPHERE: ProblemSpec = {
  variables: [
    { type: 'R', lowerBound: -5, upperBound: 5, granularity: 0, fixedValue: null },
    { type: 'R', lowerBound: -5, upperBound: 5, granularity: 0, fixedValue: null },
    { type: 'R', lowerBound: -5, upperBound: 5, granularity: 0, fixedValue: 1 },
  ],
  outputTypes: ['OBJ', 'EXTRA_O'],
  x0: [[2, 2, 1]],
  maxEvaluations: 50,
  seed: 0,
};
const sphere = (x: readonly number[]): number[] => [(x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2, 42];

test('idle runners get work: ask(8) while X0 is evaluated returns X0 plus 7 poll points around it', () => {
  const mads = Mads.create(SPHERE);
  const first = mads.ask(8);
  assert.equal(first.length, 8);
  assert.deepEqual(first[0], { x: [2, 2, 1], origin: 'x0' });
  assert.ok(first.slice(1).every((s) => s.origin === 'poll' && s.x[2] === 1));
  assert.equal(new Set(first.map((s) => s.x.join())).size, 8);
  assert.equal(mads.pendingCount, 8);
});

test('without idle filling the engine waits: ask(8) returns only X0', () => {
  const mads = Mads.create(SPHERE, { fillIdle: false });
  assert.equal(mads.ask(8).length, 1);
  assert.deepEqual(mads.ask(8), []);
});

test('late results and points the engine never suggested can become the incumbent', () => {
  const mads = Mads.create(SPHERE);
  const batch = mads.ask(3);
  mads.tell([{ x: batch[0].x, outputs: sphere(batch[0].x) }]);
  const next = mads.ask(1);
  assert.equal(next.length, 1);
  // A user-enqueued point, then the old in-flight points in reverse order.
  mads.tell([{ x: [0.3, -0.2, 1], outputs: sphere([0.3, -0.2, 1]) }]);
  mads.tell(
    batch
      .slice(1)
      .reverse()
      .map((s) => ({ x: s.x, outputs: sphere(s.x) })),
  );
  mads.tell(next.map((s) => ({ x: s.x, outputs: sphere(s.x) })));
  mads.ask(1);
  assert.deepEqual(mads.bestFeasible()?.x, [0.3, -0.2, 1]);
  assert.equal(mads.bestFeasible()?.f, 0);
  assert.deepEqual(mads.bestFeasible()?.outputs, [0, 42]);
});

test('the budget counts points in flight; MAX_BB_EVAL once told results reach it', () => {
  const mads = Mads.create({ ...SPHERE, maxEvaluations: 5 });
  const a = mads.ask(3);
  const b = mads.ask(10);
  assert.equal(a.length + b.length, 5);
  assert.deepEqual(mads.ask(1), []);
  mads.tell([...a, ...b].map((s) => ({ x: s.x, outputs: sphere(s.x) })));
  assert.deepEqual(mads.stopReason, { kind: 'MAX_BB_EVAL', evaluations: 5 });
});

test('stop() gives USER_STOP and no more suggestions; results are still accepted', () => {
  const mads = Mads.create(SPHERE);
  const [x0] = mads.ask(1);
  mads.stop();
  assert.deepEqual(mads.stopReason, { kind: 'USER_STOP' });
  assert.deepEqual(mads.ask(4), []);
  mads.tell([{ x: x0.x, outputs: sphere(x0.x) }]);
  assert.equal(mads.evaluationCount, 1);
});

test('X0_FAIL when every X0 evaluation failed', () => {
  const mads = Mads.create(
    {
      ...SPHERE,
      x0: [
        [2, 2, 1],
        [1, 1, 1],
      ],
    },
    { fillIdle: false },
  );
  const x0 = mads.ask(5);
  assert.equal(x0.length, 2);
  mads.tell([
    { x: x0[0].x, outputs: null },
    { x: x0[1].x, outputs: [NaN, 1] },
  ]);
  assert.deepEqual(mads.stopReason, { kind: 'X0_FAIL' });
});

test('minimum frame size stops with MIN_FRAME_SIZE_REACHED; fixed variables have frame 0', () => {
  const mads = Mads.create({ ...SPHERE, maxEvaluations: null }, { minFrameSize: [0.01, 0.01, null] });
  assert.deepEqual(mads.frameSize(), [1, 1, 0]);
  for (let i = 0; i < 500 && mads.stopReason === null; i++) {
    mads.tell(mads.ask(1).map((s) => ({ x: s.x, outputs: sphere(s.x) })));
  }
  assert.deepEqual(mads.stopReason, { kind: 'MIN_FRAME_SIZE_REACHED' });
  assert.ok(
    mads
      .frameSize()
      .slice(0, 2)
      .every((d) => d < 0.01),
  );
});

test('the state is plain JSON (non-finite numbers encoded) and restores exactly', () => {
  const mads = Mads.create({ ...SPHERE, outputTypes: ['OBJ', 'PB'] });
  const pts = mads.ask(4);
  mads.tell([
    { x: pts[0].x, outputs: [Infinity, -1] },
    { x: pts[1].x, outputs: [NaN, 0] },
  ]);
  const state = mads.toJSON();
  assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  const copy = Mads.fromJSON(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(copy.toJSON(), state);
  assert.deepEqual(copy.ask(3), mads.ask(3));
});

test('caller arrays are never mutated or shared', () => {
  const problem = structuredClone(SPHERE);
  const mads = Mads.create(problem);
  const [s] = mads.ask(1);
  const x = [...s.x];
  const outputs = sphere(x);
  mads.tell([{ x, outputs }]);
  x[0] = 99;
  outputs[0] = -99;
  assert.deepEqual(problem, SPHERE);
  assert.equal(mads.bestFeasible()?.x[0], 2);
  assert.equal(mads.bestFeasible()?.f, sphere([2, 2, 1])[0]);
});

test('categoricalVariables: every poll tries the other categories, so an isolated best category is found', () => {
  const cost = [3, 5, 9, 9, 9, 0];
  const problem: ProblemSpec = {
    variables: [
      { type: 'I', lowerBound: 0, upperBound: 5, granularity: 0, fixedValue: null },
      { type: 'R', lowerBound: 0, upperBound: 1, granularity: 0, fixedValue: null },
    ],
    outputTypes: ['OBJ'],
    x0: [[0, 0.9]],
    maxEvaluations: 60,
    seed: 0,
  };
  const run = (categoricalVariables: number[], surrogateSearch = false): number[] => {
    const mads = Mads.create(problem, { categoricalVariables, surrogateSearch });
    while (mads.stopReason === null) {
      const asked = mads.ask(1);
      if (asked.length === 0) break;
      mads.tell(asked.map((s) => ({ x: s.x, outputs: [cost[s.x[0]] + (s.x[1] - 0.5) ** 2] })));
    }
    return mads.bestFeasible()?.x ?? [];
  };
  assert.equal(run([0])[0], 5);
  assert.equal(run([])[0], 0); // plain MADS only polls the neighbouring indices
  assert.equal(run([], true)[0], 5); // the surrogate search (opt-in) explores the whole range
});

test('earlyStopThreshold: the feasible incumbent f; unknown before one exists or under a PB barrier with hMax > 0; a failed tell never lowers it', () => {
  const mads = Mads.create(SPHERE);
  assert.equal(mads.earlyStopThreshold(), null, 'nothing evaluated yet');
  const [x0, ...polls] = mads.ask(3);
  mads.tell([{ x: x0.x, outputs: sphere(x0.x) }]);
  assert.equal(mads.earlyStopThreshold(), sphere(x0.x)[0]);
  // An early-stopped trial is told as a failed evaluation: counted, never the incumbent.
  mads.tell([{ x: polls[0].x, outputs: null }]);
  assert.equal(mads.earlyStopThreshold(), sphere(x0.x)[0]);
  assert.equal(mads.evaluationCount, 2);

  const constrained = (types: ProblemSpec['outputTypes']): Mads =>
    Mads.create({ ...SPHERE, outputTypes: types, x0: [[2, 2, 1]] });
  const pb = constrained(['OBJ', 'PB']);
  const [pbX0] = pb.ask(1);
  pb.tell([{ x: pbX0.x, outputs: [3, -1] }]);
  // hMax starts at +∞: an infeasible point with any f can still be a success.
  assert.equal(pb.earlyStopThreshold(), null);
  const eb = constrained(['OBJ', 'EB']);
  const [ebX0] = eb.ask(1);
  eb.tell([{ x: ebX0.x, outputs: [3, -1] }]);
  assert.equal(eb.earlyStopThreshold(), 3, 'an EB-infeasible point is never a success: f alone decides');
});

test('a paused point told failed takes its resumed value later: incumbent updated, no evaluation counted, state round-trips', () => {
  const mads = Mads.create(SPHERE);
  const [x0] = mads.ask(1);
  mads.tell([{ x: x0.x, outputs: sphere(x0.x) }]);
  const polled = mads.ask(4);
  // The poll points are paused: told as unsuccessful evaluations.
  mads.tell(polled.map((s) => ({ x: s.x, outputs: null })));
  const evaluations = mads.evaluationCount;
  const before = mads.bestFeasible()!.f;
  // A value better than X0's, as the point's resumed run ends: the best of the four.
  const best = polled.reduce((a, b) => (sphere(a.x)[0] <= sphere(b.x)[0] ? a : b));
  assert.ok(sphere(best.x)[0] < before);
  // Without the flag a second result for an evaluated point is ignored (NOMAD's cache).
  mads.tell([{ x: best.x, outputs: sphere(best.x) }]);
  assert.equal(mads.bestFeasible()!.f, before);
  const replayed = Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON())));
  for (const engine of [mads, replayed]) {
    engine.tell([{ x: best.x, outputs: sphere(best.x), resumed: true }]);
    assert.equal(engine.evaluationCount, evaluations);
    assert.deepEqual(engine.bestFeasible()!.x, best.x);
  }
  // The state round-trips with the resumed value, and both engines go on alike.
  assert.deepEqual(Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON()))).toJSON(), mads.toJSON());
  assert.deepEqual(replayed.toJSON(), mads.toJSON());
  assert.deepEqual(replayed.ask(3), mads.ask(3));
  // A resumed failure adds nothing.
  const other = polled.find((s) => s !== best)!;
  mads.tell([{ x: other.x, outputs: null, resumed: true }]);
  assert.equal(mads.evaluationCount, evaluations);
});

test('the incumbent is the best told point however the study ends: every budget, batch size, user stop, constraint kind, and results told after the stop', () => {
  // A wavy objective, so that the best point is often among the last ones told; one constraint.
  const wavy = (x: readonly number[]): number[] => [
    (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2 + Math.sin(5 * x[0]),
    x[0] + x[1] - 2.5,
  ];
  const feasibleBest = (told: { x: number[]; outputs: number[] }[]): number =>
    Math.min(...told.filter((t) => t.outputs[1] <= 0).map((t) => t.outputs[0]));
  let checked = 0;
  for (const constraint of ['EB', 'PB', 'EXTRA_O'] as const) {
    for (let budget = 1; budget <= 36; budget += 5) {
      for (const q of [1, 4]) {
        for (const userStopAt of [null, Math.ceil(budget / 2)]) {
          const mads = Mads.create({
            variables: SPHERE.variables.slice(0, 2),
            outputTypes: ['OBJ', constraint],
            x0: [[-2, 2]],
            maxEvaluations: budget,
            seed: budget,
          });
          const told: { x: number[]; outputs: number[] }[] = [];
          const out: number[][] = [];
          for (let round = 0; round < 1_000; round++) {
            if (userStopAt !== null && told.length === userStopAt) mads.stop();
            out.push(...mads.ask(q - out.length).map((s) => s.x));
            const x = out.shift();
            if (x === undefined) break;
            const outputs = wavy(x);
            // Results of points in flight at the stop are told after it: they count too.
            mads.tell([{ x, outputs }]);
            told.push({ x, outputs: constraint === 'EXTRA_O' ? [outputs[0], -1] : outputs });
          }
          assert.notEqual(mads.stopReason, null);
          const expected = feasibleBest(told);
          const label = `${constraint}, budget ${budget}, q ${q}, user stop ${userStopAt}`;
          if (Number.isFinite(expected)) {
            assert.equal(mads.bestFeasible()?.f, expected, label);
            // And the same after a round trip of the stopped engine's state.
            assert.equal(Mads.fromJSON(JSON.parse(JSON.stringify(mads.toJSON()))).bestFeasible()?.f, expected, label);
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 60, `${checked} runs checked`);
});

test('Phase One ending while a step runs (a late point satisfies the EB constraint first): the incumbent is the best feasible point told after every tell (finding 33)', () => {
  // X0 violates the EB constraint (Phase One); 2–3 points in flight, told in a random order, so the
  // first feasible point is often not one of the running step's.
  const outputs = (x: readonly number[]): number[] => [
    Math.round(1000 * ((x[0] - 1) ** 2 + (x[1] + 1) ** 2)) / 1000,
    Math.round(1000 * (x[0] + x[1] - 1)) / 1000,
  ];
  let checked = 0;
  for (const [preset, seeds] of [
    ['nomad4', 60],
    ['meshtune', 4],
  ] as const) {
    for (let seed = 0; seed < seeds; seed++) {
      for (const q of [2, 3]) {
        const mads = Mads.create(
          {
            variables: SPHERE.variables.slice(0, 2),
            outputTypes: ['OBJ', 'EB'],
            x0: [[4, 4]],
            maxEvaluations: 30,
            seed,
          },
          { preset },
        );
        let lcg = seed * 7 + q;
        const out: number[][] = [];
        const told: number[][] = [];
        for (let round = 0; round < 60 && mads.stopReason === null; round++) {
          out.push(...mads.ask(q - out.length).map((s) => s.x));
          if (out.length === 0) break;
          lcg = (lcg * 1103515245 + 12345) % 2147483648;
          const [x] = out.splice(Math.floor((lcg / 2147483648) * out.length), 1);
          const o = outputs(x);
          mads.tell([{ x, outputs: o }]);
          told.push(o);
          if (mads.iteration === 0) continue;
          const feasible = told.filter((t) => t[1] <= 0).map((t) => t[0]);
          const expected = feasible.length === 0 ? null : Math.min(...feasible);
          assert.equal(
            mads.bestFeasible()?.f ?? null,
            expected,
            `${preset}, seed ${seed}, q ${q}, tell ${told.length}`,
          );
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 500, `${checked} tells checked`);
});
