/**
 * The pairwise crossing bound (stopping-decision.ts, `crossingBound`), opt-in through the curve
 * policy's `pairwise` field: it compares a trial with the incumbent's curve at the same progress,
 * calibrated on the excess drops of behind/ahead pairs of completed curves, and falls back to the
 * extrapolation rule when the incumbent's curve is not known.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompletedCurve } from './calibration';
import type { CurvePoint } from './curve-extrapolation';
import { crossingBound, decideEarlyStop, type StopQuestion } from './stopping-decision';
import { DEFAULT_CURVE_POLICY, type CurveStoppingPolicy } from './stopping-policy';

const TOTAL = 40;

/** An exponential decay from final + amplitude·(1 − e^(−rate·p)) … to `final` at p = 1. */
function curve(final: number, amplitude: number, rate: number, upTo = TOTAL): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (let step = 1; step <= upTo; step++) {
    const p = step / TOTAL;
    points.push({ step, value: final + (amplitude * (Math.exp(-rate * p) - Math.exp(-rate))) / (1 - Math.exp(-rate)) });
  }
  return points;
}

function completed(final: number, amplitude: number, rate = 5): CompletedCurve {
  return { points: curve(final, amplitude, rate), totalSteps: TOTAL, finalValue: final };
}

/** Curves of one schedule: nearly parallel, so they do not cross late. */
const parallel: CompletedCurve[] = [
  completed(1.0, 2.0),
  completed(1.2, 2.1),
  completed(1.5, 1.9),
  completed(1.3, 2.05),
  completed(1.4, 1.95),
];

function question(overrides: Partial<StopQuestion>): StopQuestion {
  return {
    curve: curve(1.6, 2.0, 5, 12),
    totalSteps: TOTAL,
    threshold: 1.0,
    protectedTrial: false,
    completed: parallel,
    ...overrides,
  };
}

const alone: CurveStoppingPolicy = { ...DEFAULT_CURVE_POLICY, pairwise: 'alone' };

test('a trial far behind a parallel incumbent is stopped; one ahead of it never is', () => {
  const behind = crossingBound(3.0, 12 / TOTAL, 1.0, parallel, 0.95, 3);
  assert.ok(behind !== null);
  assert.ok(behind.stop, `needed ${behind.needed} allowed ${behind.allowed}`);
  // The incumbent's value at step 12 is 1.436; a value below it is ahead: no stop.
  const ahead = crossingBound(1.4, 12 / TOTAL, 1.0, parallel, 0.95, 3);
  assert.ok(ahead !== null);
  assert.equal(ahead.stop, false);
});

test('a larger gap never turns a stop into a continue, and a higher confidence never stops more', () => {
  for (const step of [6, 12, 20, 30]) {
    let stoppedBefore = false;
    for (let value = 0.5; value <= 6; value += 0.05) {
      const at95 = crossingBound(value, step / TOTAL, 1.0, parallel, 0.95, 3)!;
      const at99 = crossingBound(value, step / TOTAL, 1.0, parallel, 0.99, 3)!;
      if (stoppedBefore) assert.ok(at95.stop, `step ${step}, value ${value}`);
      stoppedBefore ||= at95.stop;
      if (at99.stop) assert.ok(at95.stop);
    }
  }
});

test('no incumbent curve (X0 without a curve, a barrier threshold): no opinion, and the rule falls back', () => {
  assert.equal(crossingBound(3.0, 12 / TOTAL, 0.9, parallel, 0.95, 3), null);
  for (const threshold of [0.9, 1.05, 1.25]) {
    const q = question({ threshold, curve: curve(2.2, 2.0, 5, 12) });
    const withPairs = decideEarlyStop(q, alone);
    const without = decideEarlyStop(q, DEFAULT_CURVE_POLICY);
    assert.deepEqual(withPairs, without);
  }
});

test('curves that cross late widen the bound: the same gap stops in a parallel study, not in a crossing one', () => {
  // Pairs whose behind curve drops far more than its leader (late drops of different sizes).
  const crossing: CompletedCurve[] = [
    completed(1.0, 2.0),
    completed(0.9, 3.4, 2),
    completed(1.3, 1.0, 8),
    completed(1.1, 3.0, 1.5),
    completed(1.5, 0.8, 9),
  ];
  const gapValue = curve(1.0, 2.0, 5, 12)[11].value + 0.6;
  assert.ok(crossingBound(gapValue, 12 / TOTAL, 1.0, parallel, 0.95, 3)!.stop);
  assert.equal(crossingBound(gapValue, 12 / TOTAL, 1.0, crossing, 0.95, 3)!.stop, false);
});

test("with 'alone' the crossing bound decides where it applies; 'off' is the extrapolation rule", () => {
  const q = question({ curve: curve(3.0, 2.0, 5, 12) });
  assert.equal(decideEarlyStop(q, alone).stop, true);
  assert.deepEqual(
    decideEarlyStop(q, { ...DEFAULT_CURVE_POLICY, pairwise: 'off' }),
    decideEarlyStop(q, DEFAULT_CURVE_POLICY),
  );
});
