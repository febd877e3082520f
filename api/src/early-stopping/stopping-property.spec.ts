/**
 * Properties of the curve policy over random curves: a curve of the fitted families without noise
 * that ends below the threshold is never stopped (whatever the calibration history, completed or
 * stopped trials), stopping is
 * monotone in the confidence, and the guards (minimum progress, calibration, X0, unknown threshold)
 * always hold.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stoppedRun, type CompletedCurve } from './calibration';
import type { CurvePoint } from './curve-extrapolation';
import { decideEarlyStop } from './stopping-decision';
import { DEFAULT_CURVE_POLICY, type CurveStoppingPolicy } from './stopping-policy';

const TOTAL = 50;

interface Shape {
  family: 'power_law' | 'exponential';
  offset: number;
  amplitude: number;
  rate: number;
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  family: fc.constantFrom<'power_law' | 'exponential'>('power_law', 'exponential'),
  offset: fc.double({ min: 0.2, max: 3, noNaN: true }),
  amplitude: fc.double({ min: 0.05, max: 3, noNaN: true }),
  rate: fc.double({ min: 0.3, max: 6, noNaN: true }),
});

/** The model families themselves: c + a·p^(−b) and c + a·e^(−k·p). */
function valueAt(shape: Shape, p: number): number {
  return shape.family === 'power_law'
    ? shape.offset + shape.amplitude * p ** -shape.rate
    : shape.offset + shape.amplitude * Math.exp(-shape.rate * p);
}

function sample(shape: Shape, upTo: number, noise: readonly number[] = []): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (let step = 1; step <= upTo; step++)
    points.push({ step, value: valueAt(shape, step / TOTAL) + (noise[step - 1] ?? 0) });
  return points;
}

const noiseArb = fc.array(fc.double({ min: -0.05, max: 0.05, noNaN: true }), { minLength: TOTAL, maxLength: TOTAL });

const historyArb: fc.Arbitrary<CompletedCurve[]> = fc
  .array(fc.tuple(shapeArb, noiseArb), { minLength: 0, maxLength: 12 })
  .map((trials) =>
    trials.map(([shape, noise]) => {
      const points = sample(shape, TOTAL, noise);
      return { points, totalSteps: TOTAL, finalValue: points[TOTAL - 1].value };
    }),
  );

/** Trials stopped early: curves of the families cut at a random step, as runs of that length. */
const stoppedArb: fc.Arbitrary<CompletedCurve[]> = fc
  .array(fc.tuple(shapeArb, noiseArb, fc.integer({ min: 1, max: TOTAL - 1 })), { minLength: 0, maxLength: 12 })
  .map((trials) => trials.map(([shape, noise, upTo]) => stoppedRun(sample(shape, upTo, noise))!));

const policyArb: fc.Arbitrary<CurveStoppingPolicy> = fc.record({
  kind: fc.constant<'curve'>('curve'),
  minProgress: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
  confidence: fc.double({ min: 0.55, max: 0.999, noNaN: true }),
  calibrationTrials: fc.integer({ min: 2, max: 8 }),
  minPoints: fc.integer({ min: 3, max: 8 }),
  calibrationWindow: fc.integer({ min: 2, max: 50 }),
});

test('a noiseless curve of the model family that ends below the threshold is never stopped', () => {
  fc.assert(
    fc.property(
      shapeArb,
      historyArb,
      stoppedArb,
      policyArb,
      fc.integer({ min: 3, max: TOTAL - 1 }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      (shape, history, stopped, policy, upTo, margin) => {
        const final = valueAt(shape, 1);
        const range = valueAt(shape, 1 / TOTAL) - valueAt(shape, upTo / TOTAL);
        // The threshold lies above the true final value by a margin relative to how much the curve moved.
        const threshold = final + margin * Math.max(range, 1e-3);
        const decision = decideEarlyStop(
          {
            curve: sample(shape, upTo),
            totalSteps: TOTAL,
            threshold,
            protectedTrial: false,
            completed: history,
            stopped,
          },
          policy,
        );
        assert.equal(decision.stop, false, JSON.stringify({ decision, final }));
      },
    ),
    { numRuns: 150 },
  );
});

test('stopping is monotone in the confidence: what stops at a higher confidence stops at a lower one', () => {
  fc.assert(
    fc.property(
      shapeArb,
      noiseArb,
      historyArb,
      stoppedArb,
      policyArb,
      fc.integer({ min: 3, max: TOTAL - 1 }),
      fc.double({ min: 0, max: 4, noNaN: true }),
      fc.double({ min: 0.55, max: 0.999, noNaN: true }),
      (shape, noise, history, stopped, policy, upTo, threshold, otherConfidence) => {
        const ask = (confidence: number) =>
          decideEarlyStop(
            {
              curve: sample(shape, upTo, noise),
              totalSteps: TOTAL,
              threshold,
              protectedTrial: false,
              completed: history,
              stopped,
            },
            { ...policy, confidence },
          );
        const low = ask(Math.min(policy.confidence, otherConfidence));
        const high = ask(Math.max(policy.confidence, otherConfidence));
        if (high.lowerBound !== null) assert.ok(low.lowerBound! >= high.lowerBound);
        if (high.stop) assert.equal(low.stop, true);
      },
    ),
    { numRuns: 150 },
  );
});

test('guards always hold: no stop before minimum progress, while calibrating, for X0 or without a threshold', () => {
  fc.assert(
    fc.property(
      shapeArb,
      noiseArb,
      historyArb,
      stoppedArb,
      policyArb,
      fc.integer({ min: 1, max: TOTAL - 1 }),
      fc.double({ min: -1, max: 4, noNaN: true }),
      fc.boolean(),
      fc.boolean(),
      (shape, noise, history, stopped, policy, upTo, threshold, protectedTrial, unknownThreshold) => {
        const decision = decideEarlyStop(
          {
            curve: sample(shape, upTo, noise),
            totalSteps: TOTAL,
            threshold: unknownThreshold ? null : threshold,
            protectedTrial,
            completed: history,
            stopped,
          },
          policy,
        );
        if (!decision.stop) return;
        assert.ok(upTo / TOTAL >= policy.minProgress);
        assert.ok(history.length >= policy.calibrationTrials);
        assert.equal(protectedTrial, false);
        assert.equal(unknownThreshold, false);
        assert.ok(decision.lowerBound! >= threshold);
      },
    ),
    { numRuns: 200 },
  );
});

test('the default policy stops a clearly hopeless noisy curve once calibrated', () => {
  const history: CompletedCurve[] = [0.9, 1.0, 1.1, 1.2, 1.3, 1.4].map((offset, i) => {
    const points = sample({ family: 'exponential', offset, amplitude: 2, rate: 4 + i / 3 }, TOTAL);
    return { points, totalSteps: TOTAL, finalValue: points[TOTAL - 1].value };
  });
  const curve = sample({ family: 'exponential', offset: 2.5, amplitude: 2, rate: 4 }, 20);
  const decision = decideEarlyStop(
    { curve, totalSteps: TOTAL, threshold: 0.95, protectedTrial: false, completed: history },
    { ...DEFAULT_CURVE_POLICY },
  );
  assert.equal(decision.stop, true);
});
