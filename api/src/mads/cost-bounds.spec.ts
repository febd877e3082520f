/**
 * Engine calls of every study share one engine thread, so what one call may cost is bounded by
 * construction (docs/algorithm.md, "Cost of the models"): the quadratic models, the GP surrogate's
 * hyper-parameter fit and the Nelder–Mead simplex pick the richest variant within a work bound,
 * and below it are NOMAD's. The wall-clock figures are in `bench:engine-cost` (docs/benchmarks.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { affordableSweeps, GP_FIT_WORK_LIMIT } from './model/gp';
import { monomialCount, quadraticWork } from './model/quadratic';
import { affordableModel, MODEL_WORK_LIMIT } from './search/quad-model';
import * as modelOptimizer from './model/model-optimizer';
import * as quadratic from './model/quadratic';
import * as linalg from './model/linalg';
import * as barrier from './barrier';
import { LANDSCAPES, SHAPES, runOne } from './testing/landscapes';
import { Mads } from './mads';

test('quadratic models: whatever the dimension, outputs and training set, the chosen model fits the work bound', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 101 }),
      fc.integer({ min: 1, max: 500 }),
      fc.boolean(),
      (n, outputs, points, sorting) => {
        const predictions = sorting ? 2 * n : 2000;
        const plan = affordableModel(points, n, outputs, predictions);
        if (plan === null) return;
        const m = monomialCount(n, plan.kind);
        assert.ok(quadraticWork(plan.points, m, outputs, predictions) <= MODEL_WORK_LIMIT);
        assert.ok(plan.points <= points);
        // Fewer points than offered only when there are still at least as many as monomials.
        if (plan.points < points) assert.ok(plan.points >= m);
      },
    ),
  );
});

test("quadratic models: NOMAD's full model on all 500 training points up to n = 10, separable beyond the bound, none at 200 variables", () => {
  for (let n = 1; n <= 10; n++) assert.deepEqual(affordableModel(500, n, 1, 2000), { kind: 'full', points: 500 });
  // n = 49: a full quadratic has 1,275 monomials (a 1,275² system per fit).
  assert.equal(affordableModel(500, 49, 1, 2000)?.kind, 'separable');
  assert.equal(affordableModel(500, 200, 1, 2000), null);
});

test('GP surrogate: the length-scale sweeps are unchanged up to 10 variables and always within the work bound', () => {
  for (let d = 1; d <= 10; d++) assert.equal(affordableSweeps(76, d), 2);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 76 }), fc.integer({ min: 1, max: 200 }), (n, d) => {
      const sweeps = affordableSweeps(n, d);
      const perSetting = (n * n * d) / 2 + (n * n * n) / 6;
      if (sweeps > 0) assert.ok((16 + sweeps * 2 * d) * perSetting <= GP_FIT_WORK_LIMIT);
    }),
  );
  assert.equal(affordableSweeps(76, 200), 0);
});

/**
 * An exhausted lattice: every ±1 neighbour of the incumbent evaluated, the mesh at its minimum, so
 * iteration after iteration finds only cached points (10 per restart under the meshtune preset,
 * up to 200 under nomad4) until the engine restarts or stops. Each such iteration used to run the
 * quadratic model search and the QUAD second pass — an inner MADS of up to 2,000 model
 * evaluations each — on the same cache: 120 model optimisations in one `ask` of a 1-variable
 * study. Counted here as model optimisations per engine call, not time.
 */
test('an exhausted integer lattice: the model searches stand down after an empty iteration, so one call runs a bounded number of model optimisations', (t) => {
  for (const preset of ['meshtune', 'nomad4'] as const) {
    for (const [n, upper, outputTypes] of [
      [1, 10, ['OBJ', 'PB']],
      [2, 5, ['OBJ']],
      [3, 3, ['OBJ', 'PB']],
    ] as const) {
      const optimisations = t.mock.method(modelOptimizer, 'minimizeInBox');
      const variables = Array.from({ length: n }, () => ({
        type: 'I' as const,
        lowerBound: 0,
        upperBound: upper,
        granularity: 0,
        fixedValue: null,
      }));
      const mads = Mads.create(
        {
          variables,
          outputTypes: [...outputTypes],
          x0: [variables.map(() => Math.floor(upper / 2))],
          maxEvaluations: 400,
          seed: 1,
        },
        { preset },
      );
      let mostPerCall = 0;
      const counted = <T>(call: () => T): T => {
        const before = optimisations.mock.callCount();
        const result = call();
        mostPerCall = Math.max(mostPerCall, optimisations.mock.callCount() - before);
        return result;
      };
      for (let k = 0; k < 400 && mads.stopReason === null; k++) {
        const [point] = counted(() => mads.ask(1));
        if (point === undefined) break;
        const f = point.x.reduce((a, v, i) => a + (v - 1 - i) ** 2, 0);
        counted(() => mads.tell([{ x: point.x, outputs: outputTypes.map((_, i) => (i === 0 ? f : point.x[0] - 2)) }]));
      }
      assert.notEqual(mads.stopReason, null, `${preset} n=${n}: the lattice is exhausted, the engine stops`);
      // One iteration's model work (the search's feasible and infeasible targets, the NM slot's two
      // trust regions under meshtune, the second pass) per frame the call tries: the current one
      // and the restarts that found nothing (at most 4), so at most 5 × 5.
      // Before the empty-iteration rule: 82–123 under meshtune, 401–601 under nomad4 (200 empty iterations).
      assert.ok(mostPerCall <= 25, `${preset} n=${n}: ${mostPerCall} model optimisations in one call`);
      optimisations.mock.restore();
    }
  }
});

/**
 * Finding 22 (docs/reliability.md): on binary and categorical lattices, mixed spaces of many
 * levels, many constraints, mostly fixed spaces and 20–50 variables, one engine call ran up to
 * MAX_EMPTY_ITERATIONS iterations whose points were all cached, each fitting the same quadratic
 * model to sort them and building the same Nelder–Mead simplex with an SVD per candidate: on the
 * code before, 202 model fits and 2,600 rank tests (Σ rows²·n = 300,000) in one call of a 6-binary
 * study, 103 fits in one call of a 5-free-variable study with 15 constraints. Counted here per
 * call (ask or tell), per class, not timed: model fits (least-squares and minimum-norm), model
 * optimisations (inner MADS runs) and the rank tests' SVD work.
 */
const LATTICE_CLASSES = [
  '6 binary',
  '12 binary',
  '30 binary',
  '3 int width 1',
  '4 categorical of 5',
  '20 categorical of 6',
  'mixed 20 of many levels',
  '50 mixed',
  '25 with 20 fixed',
];

for (const shapeName of LATTICE_CLASSES) {
  test(`${shapeName}: every engine call does a bounded number of model fits, model optimisations and rank tests (both presets, with and without 15 constraints)`, (t) => {
    const shape = SHAPES.find((s) => s.name === shapeName);
    assert.ok(shape !== undefined, shapeName);
    const fits = t.mock.method(quadratic, 'fitQuadratic');
    const minNormFits = t.mock.method(quadratic, 'fitQuadraticMinNorm');
    const optimisations = t.mock.method(modelOptimizer, 'minimizeInBox');
    let rankWork = 0;
    const rankOf = linalg.rankOf;
    t.mock.method(linalg, 'rankOf', (rows: readonly number[][], eps: number) => {
      rankWork += rows.length * rows.length * (rows[0]?.length ?? 0);
      return rankOf(rows, eps);
    });
    const count = (): number[] => [
      fits.mock.callCount() + minNormFits.mock.callCount(),
      optimisations.mock.callCount(),
      rankWork,
    ];
    for (const land of LANDSCAPES.filter((l) => ['smooth', '10 PB 5 EB'].includes(l.name))) {
      for (const [preset, q] of [
        ['meshtune', 4],
        ['nomad4', 1],
      ] as const) {
        const what: string = `${shape.name} / ${land.name} / ${preset} / q=${q}`;
        const most = [0, 0, 0];
        // Counted around each call; judged after the run (runOne reports a throw as its error).
        const r = runOne(shape, land, preset, q, 1, 100, Infinity, (call) => {
          const before = count();
          call();
          count().forEach((v, k) => {
            most[k] = Math.max(most[k], v - before[k]);
          });
        });
        assert.equal(r.error, null, what);
        const [f, o, w] = most;
        t.diagnostic(`${what}: most per call ${f} fits, ${o} optimisations, rank work ${w}`);
        assert.ok(f <= 12, `${what}: ${f} model fits in one call`);
        assert.ok(o <= 25, `${what}: ${o} model optimisations in one call`);
        // At most one simplex construction's bound (NM_SIMPLEX_WORK_LIMIT, 5e4).
        assert.ok(w <= 5e4, `${what}: rank tests of Σ rows²·n = ${w} in one call`);
      }
    }
  });
}

/**
 * Finding 21 (docs/reliability.md): with a constraint its models never satisfy, the model search's
 * inner MADS keeps every infeasible point under hMax in its barrier — ~1,000 of them — and updates
 * it ~700 times per model optimisation; each update walked the whole barrier (its rules b, c and d
 * read every point), ~70 % of the CPU of the slowest engine call. Counted here, not timed: the
 * (f, h) reads of every barrier update, which must not grow with the barrier — the points of the
 * update and the feasible ones (the tied best), plus one read of each point when a barrier is
 * first seen (a new barrier or one restored from JSON is indexed once).
 */
test('1 variable, a feasible region 2e-3 wide, 16 in flight: a barrier update reads its own points, not the whole barrier', (t) => {
  const shape = SHAPES.find((s) => s.name === '1 real');
  const land = LANDSCAPES.find((l) => l.name === 'tiny feasible region');
  assert.ok(shape !== undefined && land !== undefined);
  const seen = new WeakSet<barrier.BarrierState>();
  const update = barrier.updateWithPoints;
  let largest = 0;
  let updates = 0;
  t.mock.method(
    barrier,
    'updateWithPoints',
    (state: barrier.BarrierState, ids: readonly number[], fh: (id: number) => barrier.FH | null, full: boolean) => {
      let reads = 0;
      const counted = (id: number): barrier.FH | null => {
        reads++;
        return fh(id);
      };
      const indexing = seen.has(state) ? 0 : state.xInf.length;
      seen.add(state);
      const bound = indexing + 3 * ids.length + 2 * state.xFeas.length + 2;
      const result = update(state, ids, counted, full);
      largest = Math.max(largest, state.xInf.length);
      updates++;
      assert.ok(reads <= bound, `${reads} reads in one update of a barrier of ${state.xInf.length} infeasible points`);
      return result;
    },
  );
  const r = runOne(shape, land, 'meshtune', 16, 1, 100, 8);
  assert.equal(r.error, null);
  t.diagnostic(`${updates} barrier updates, largest barrier ${largest} infeasible points`);
  // The bound means something only if the barrier grew: the class of finding 21.
  assert.ok(largest >= 500, `largest barrier ${largest}`);
});
