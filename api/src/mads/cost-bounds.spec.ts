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
