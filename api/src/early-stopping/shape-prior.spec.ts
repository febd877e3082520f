import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompletedCurve } from './calibration';
import { shapeMatchPrediction, shapePriorBound } from './shape-prior';
import { decideEarlyStop } from './stopping-decision';
import { DEFAULT_CURVE_POLICY } from './stopping-policy';

const T = 20;
const progress = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) / T);
/** A curve of the family c + a·e^(−k·p), tabulated on T steps. */
const expCurve = (c: number, a: number, k: number) => progress(T).map((p) => c + a * Math.exp(-k * p));
const completed = (values: number[]): CompletedCurve => ({
  points: values.map((value, i) => ({ step: i + 1, value })),
  totalSteps: T,
  finalValue: values[T - 1],
});

test('a prefix that is an affine image of a completed curve is predicted at that image of its final value', () => {
  const library = expCurve(1, 2, 4);
  const prefixY = library.slice(0, 6).map((v) => 0.5 + 1.5 * v);
  const prediction = shapeMatchPrediction(
    { p: progress(6), y: prefixY },
    [{ full: { p: progress(T), y: library }, finalValue: library[T - 1] }],
    4,
  );
  assert.ok(prediction !== null && Math.abs(prediction - (0.5 + 1.5 * library[T - 1])) < 1e-9);
  // The best-matching library curve decides: a second, differently shaped curve changes nothing.
  const other = expCurve(3, 1, 0.5);
  const both = shapeMatchPrediction(
    { p: progress(6), y: prefixY },
    [
      { full: { p: progress(T), y: other }, finalValue: other[T - 1] },
      { full: { p: progress(T), y: library }, finalValue: library[T - 1] },
    ],
    4,
  );
  assert.ok(both !== null && Math.abs(both - prediction) < 1e-9);
  // Too few points in common: no prediction.
  assert.equal(shapeMatchPrediction({ p: progress(3), y: prefixY.slice(0, 3) }, [], 4), null);
});

test('the shape bound is calibrated leave-one-out, needs enough residuals and falls with confidence', () => {
  const curves = [expCurve(1, 2, 4), expCurve(1.2, 2.5, 3), expCurve(0.9, 1.5, 5), expCurve(1.1, 2, 3.5)].map(
    completed,
  );
  const trial = expCurve(1.05, 2.2, 4).slice(0, 6);
  const at = { p: progress(6), y: trial };
  assert.equal(shapePriorBound(at, 6 / T, curves.slice(0, 2), 0.95, 0, 4, 3), null);
  const b95 = shapePriorBound(at, 6 / T, curves, 0.95, 0, 4, 3);
  const b99 = shapePriorBound(at, 6 / T, curves, 0.99, 0, 4, 3);
  assert.ok(b95 !== null && b99 !== null);
  assert.equal(b95.residuals, 4);
  assert.ok(b99.bound <= b95.bound && b95.bound <= b95.prediction);
});

test('rung-wise decisions decide only at the first observation past each rung', () => {
  const curves = [expCurve(1, 2, 4), expCurve(1.2, 2.5, 3), expCurve(0.9, 1.5, 5)].map(completed);
  // A trial far above the incumbent: the default rule stops it at its first decision.
  const hopeless = expCurve(3, 2, 4);
  const policy = { ...DEFAULT_CURVE_POLICY, rungs: [0.35] };
  const ask = (n: number) =>
    decideEarlyStop(
      {
        curve: hopeless.slice(0, n).map((value, i) => ({ step: i + 1, value })),
        totalSteps: T,
        threshold: 1,
        protectedTrial: false,
        completed: curves,
      },
      policy,
    );
  assert.equal(ask(5).reason, 'between_intervals');
  assert.equal(ask(6).reason, 'between_intervals');
  assert.equal(ask(7).stop, true);
  assert.equal(ask(8).reason, 'between_intervals');
  assert.equal(
    decideEarlyStop(
      {
        curve: hopeless.slice(0, 5).map((value, i) => ({ step: i + 1, value })),
        totalSteps: T,
        threshold: 1,
        protectedTrial: false,
        completed: curves,
      },
      DEFAULT_CURVE_POLICY,
    ).stop,
    true,
  );
});

test("the 'min' mode bounds by the lower of the extrapolation and the shape prior, both at full confidence", () => {
  const curves = [expCurve(1, 2, 4), expCurve(1.2, 2.5, 3), expCurve(0.9, 1.5, 5), expCurve(1.1, 2, 3.5)].map(
    completed,
  );
  const trial = expCurve(2, 2.2, 4).slice(0, 8);
  const question = {
    curve: trial.map((value, i) => ({ step: i + 1, value })),
    totalSteps: T,
    threshold: 1,
    protectedTrial: false,
    completed: curves,
  };
  const decision = decideEarlyStop(question, { ...DEFAULT_CURVE_POLICY, shapePrior: 'min' });
  const shape = shapePriorBound({ p: progress(8), y: trial }, 8 / T, curves, 0.95, 0, 4, 3);
  assert.ok(shape !== null && decision.lowerBound !== null);
  assert.ok(decision.lowerBound <= shape.bound + 1e-12);
});
