import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extrapolateCurve, type CurvePoint } from './curve-extrapolation';

function curve(steps: number[], f: (p: number) => number, totalSteps: number): CurvePoint[] {
  return steps.map((step) => ({ step, value: f(step / totalSteps) }));
}

const firstThird = [3, 6, 9, 12, 15, 18, 21, 24, 27, 30];

test('a noiseless power law with offset is recovered from its first third', () => {
  const f = (p: number) => 0.9 + 1.5 * p ** -0.6;
  const fit = extrapolateCurve(curve(firstThird, f, 90), 90);
  assert.equal(fit?.model, 'power_law');
  assert.ok(Math.abs(fit.finalValue - f(1)) < 1e-6, `${fit.finalValue} vs ${f(1)}`);
});

test('a noiseless exponential decay with offset is recovered from its first third', () => {
  const f = (p: number) => 1.3 + 2 * Math.exp(-5 * p);
  const fit = extrapolateCurve(curve(firstThird, f, 90), 90);
  assert.equal(fit?.model, 'exponential');
  assert.ok(Math.abs(fit.finalValue - f(1)) < 1e-6, `${fit.finalValue} vs ${f(1)}`);
});

test('a flat or rising curve gets the flat model: the mean of its last third', () => {
  const flat = extrapolateCurve(
    curve([1, 2, 3, 4, 5, 6], () => 2, 10),
    10,
  );
  assert.deepEqual(flat, { model: 'flat', finalValue: 2, rmse: 0, optimisticFinal: 2 });
  const rising = extrapolateCurve(
    curve([1, 2, 3, 4, 5, 6], (p) => 1 + p, 10),
    10,
  );
  assert.equal(rising?.model, 'flat');
  assert.ok(Math.abs(rising.finalValue - 1.55) < 1e-12);
});

test('fewer than three finite points give no fit; NaN values are skipped', () => {
  assert.equal(
    extrapolateCurve(
      [
        { step: 1, value: 3 },
        { step: 2, value: 2 },
      ],
      10,
    ),
    null,
  );
  assert.equal(
    extrapolateCurve(
      [
        { step: 1, value: 3 },
        { step: 2, value: Number.NaN },
        { step: 3, value: 2 },
      ],
      10,
    ),
    null,
  );
});

test('when few points fit both families, the optimistic final value is the lower of their predictions', () => {
  // Three points of a steep power law: the exponential fits them as exactly but levels off far higher.
  const f = (p: number) => 0.2 + 0.05 * p ** -0.665;
  const fit = extrapolateCurve(curve([1, 2, 3], f, 50), 50);
  assert.ok(fit !== null);
  assert.ok(fit.optimisticFinal <= fit.finalValue);
  assert.ok(fit.optimisticFinal <= f(1) + 1e-6, `${fit.optimisticFinal} vs ${f(1)}`);
});

test('with many noiseless points the wrong family drops out of the optimistic value', () => {
  const f = (p: number) => 1.3 + 2 * Math.exp(-5 * p);
  const fit = extrapolateCurve(curve(firstThird, f, 90), 90);
  assert.ok(fit !== null);
  assert.ok(Math.abs(fit.optimisticFinal - f(1)) < 1e-6, `${fit.optimisticFinal} vs ${f(1)}`);
});
