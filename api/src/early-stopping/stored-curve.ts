/**
 * Curves as the store keeps them (trial_metrics rows, in step order) turned into the minimised,
 * bounded curves the stopping rules fit: one owner for the heartbeat's decision
 * (trials/trial-early-stopping.ts) and the resume choice (engine/study-resume.ts).
 */
import type { CurvePoint } from './curve-extrapolation';

/**
 * Points of one curve the curve policy fits (the trial's own and each calibration curve; longer
 * curves are thinned by `thinCurve`). A fit costs about 8 µs a point and a heartbeat may refit every
 * calibration curve, so with the 10,000 points a trial may store (MAX_METRIC_POINTS_PER_TRIAL) and 50
 * calibration curves one heartbeat held the event loop 1.4–5.3 s (docs/reliability.md, finding 8).
 * The models have 3 parameters: 100 points spread over the run fix them as well as 10,000.
 */
export const MAX_FITTED_CURVE_POINTS = 100;

/**
 * A stored curve (`[step, value]` pairs in step order) minimised (`sign` −1 for a maximised
 * objective) and, when `thin` (the curve policy's fits), thinned to MAX_FITTED_CURVE_POINTS. The
 * median policy reads values at exact steps, as does the pause rule the incumbent's curve: unthinned.
 */
export function storedCurve(points: readonly [number, number][], sign: number, thin: boolean): CurvePoint[] {
  const curve = points.map(([step, value]) => ({ step, value: sign * value }));
  return thin ? thinCurve(curve, MAX_FITTED_CURVE_POINTS) : curve;
}

/**
 * At most `max` points of a curve in step order, evenly spaced by index, the first and the last (the
 * latest observation, where the trial's progress is measured) included. Spacing by index keeps the
 * share of points each part of the run has, and so the weight a least-squares fit gives it.
 */
export function thinCurve(curve: readonly CurvePoint[], max: number): CurvePoint[] {
  if (curve.length <= max) return [...curve];
  const kept: CurvePoint[] = [];
  for (let j = 0; j < max; j++) kept.push(curve[Math.round((j * (curve.length - 1)) / (max - 1))]);
  return kept;
}
