/**
 * CPU time of one early-stopping decision of a heartbeat (`node dist/test/reliability/decision-cost-measure.js
 * [points] [curves]`, not in CI): `curves` completed calibration curves and the running trial's
 * curve, each of `points` points (the most a trial stores is 10,000), as passed to decideEarlyStop
 * before 2026-12-04 (raw) and by TrialEarlyStopping since (thinned, at most MAX_CALIBRATION_CURVES).
 * Each row is a heartbeat at a new progress, so every calibration curve's cut moved (the worst case
 * of the calibration cache); docs/reliability.md, finding 8.
 */
import {
  createCalibrationCache,
  decideEarlyStop,
  DEFAULT_CURVE_POLICY,
  type CompletedCurve,
  type CurvePoint,
} from '../../api/src/early-stopping';
import { MAX_CALIBRATION_CURVES, MAX_FITTED_CURVE_POINTS, thinCurve } from '../../api/src/trials/trial-early-stopping';

const points = Number(process.argv[2] ?? 10_000);
const curves = Number(process.argv[3] ?? 50);

/** A power-law learning curve with a ripple, distinct per seed. */
const curveOf = (seed: number): CurvePoint[] =>
  Array.from({ length: points }, (_, i) => ({
    step: i + 1,
    value: 1 + 1 / Math.sqrt(i + 1) + seed * 0.01 + 0.001 * Math.sin(i * seed),
  }));

function measure(label: string, thin: (curve: CurvePoint[]) => CurvePoint[], maxCurves: number): void {
  const completed: CompletedCurve[] = Array.from({ length: Math.min(curves, maxCurves) }, (_, k) => {
    const curve = curveOf(k + 1);
    return { points: thin(curve), totalSteps: points, finalValue: curve[points - 1].value };
  });
  const policy = { ...DEFAULT_CURVE_POLICY, calibrationWindow: curves };
  const cache = createCalibrationCache();
  const trial = curveOf(0.5);
  const times: string[] = [];
  for (const fraction of [0.2, 0.5, 0.9]) {
    const started = process.hrtime.bigint();
    decideEarlyStop(
      {
        curve: thin(trial.slice(0, Math.floor(points * fraction))),
        totalSteps: points,
        threshold: 1,
        protectedTrial: false,
        completed,
        stopped: [],
      },
      policy,
      cache,
    );
    times.push(`${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms at ${fraction}`);
  }
  console.log(`${label}: ${points} points, ${curves} calibration curves: ${times.join(', ')}`);
}

measure('raw (before)', (curve) => curve, Infinity);
measure('thinned (after)', (curve) => thinCurve(curve, MAX_FITTED_CURVE_POINTS), MAX_CALIBRATION_CURVES);
