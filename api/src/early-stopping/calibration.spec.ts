import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  calibrationResidual,
  createCalibrationCache,
  normalQuantile,
  optimisticResidual,
  LOWER_HALF_MIN_RESIDUALS,
  remainingDrop,
  studentQuantile,
  type CompletedCurve,
} from './calibration';

test('normal and Student-t quantiles match their tables', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232) < 1e-6);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  // t(0.975, 10) = 2.228, t(0.95, 4) = 2.132: the expansion is within 1 %.
  assert.ok(Math.abs(studentQuantile(0.975, 10) - 2.228) / 2.228 < 0.01);
  assert.ok(Math.abs(studentQuantile(0.95, 4) - 2.132) / 2.132 < 0.01);
});

test('the optimistic residual is a lower bound no higher than the empirical quantile, and needs two residuals', () => {
  assert.equal(optimisticResidual([0.1], 0.95, 0), null);
  const residuals = [-0.2, -0.1, 0, 0.05, 0.1, 0.15];
  const bound = optimisticResidual(residuals, 0.95, 0)!;
  assert.ok(bound < Math.min(...residuals) + 0.03);
  assert.ok(optimisticResidual(residuals, 0.99, 0)! <= bound);
  assert.ok(optimisticResidual(residuals, 0.95, 0.5)! < bound);
});

test('from LOWER_HALF_MIN_RESIDUALS residuals on, one far above the median does not widen the lower bound', () => {
  const tight = [-0.1, -0.05, 0, 0.05, 0.1];
  assert.equal(tight.length, LOWER_HALF_MIN_RESIDUALS);
  const withHighOutlier = [...tight, 5];
  const bound = optimisticResidual(withHighOutlier, 0.975, 0)!;
  // A symmetric fit (mean 0.83, sd 2.0) would put it near −5; the lower half puts it near the lowest residuals.
  assert.ok(bound > -0.5 && bound <= -0.1, String(bound));
  // A residual far below the median still widens it.
  assert.ok(optimisticResidual([-5, ...tight], 0.975, 0)! < -5);
  // Fewer residuals: mean and sample variance, so an outlier on either side widens the bound.
  assert.ok(optimisticResidual([-0.1, 0, 5], 0.975, 0)! < -5);
});

const curve: CompletedCurve = {
  points: [4, 3, 2.5, 2.2, 2.0, 1.9, 1.85, 1.8, 1.78, 1.77].map((value, i) => ({ step: i + 1, value })),
  totalSteps: 10,
  finalValue: 1.77,
};

test('remaining drop: the final value less the value at the same progress', () => {
  assert.ok(Math.abs(remainingDrop(curve, 0.3)! - (1.77 - 2.5)) < 1e-12);
  assert.ok(Math.abs(remainingDrop(curve, 0.35)! - (1.77 - 2.5)) < 1e-12);
  assert.equal(remainingDrop(curve, 0.05), null);
  assert.equal(remainingDrop(curve, 1), null);
});

test('calibration residuals are cached per curve and cut, and need minPoints points before the end', () => {
  const cache = createCalibrationCache();
  const first = calibrationResidual(curve, 0.5, 4, cache);
  assert.ok(first !== null && Number.isFinite(first));
  assert.equal(cache.get(curve)?.get(5), first);
  assert.equal(calibrationResidual(curve, 0.5, 4, cache), first);
  assert.equal(calibrationResidual(curve, 0.3, 4), null);
  assert.equal(calibrationResidual(curve, 1, 4), null);
});
