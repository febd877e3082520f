/**
 * How far a study's curves end up below their extrapolation, measured on its own trials.
 *
 * For a completed curve cut at the progress a running trial has reached, the residual is
 * (its real final value − the optimistic extrapolation of the cut curve) / the range of the cut curve's values.
 * Dividing by the range makes residuals of curves on different scales comparable: an extrapolation
 * misses by an amount proportional to how much the curve still moves. The optimistic residual at a
 * confidence is a lower quantile of those residuals (the running trial's extrapolation plus that
 * quantile times its own range is its lower bound).
 *
 * A trial stopped early is a complete run of its own, shorter length (`stoppedRun`): extrapolating
 * its first fraction p to its last observed step is the same task, at the same fraction of the
 * horizon, as extrapolating a full run's first p to its end, so it adds a residual at p too
 * (docs/algorithm.md, "Early stopping", explains when that holds).
 */
import { normalQuantile } from '../math/normal-quantile';
import { fitProgressCurve, toProgressPoints, type CurvePoint } from './curve-extrapolation';

/** A trial that ran to its last step; `finalValue` is the value it reported (the objective). */
export interface CompletedCurve {
  points: readonly CurvePoint[];
  totalSteps: number;
  finalValue: number;
}

/**
 * Residuals depend only on the completed curve and on how many of its points the cut keeps, so a
 * caller deciding often for the same study (the benchmark, a long-lived process) can keep them.
 * Keyed by the curve object: a caller that rebuilds its objects each time just gets no reuse.
 */
export type CalibrationCache = WeakMap<CompletedCurve, Map<number, number | null>>;

export function createCalibrationCache(): CalibrationCache {
  return new WeakMap();
}

/**
 * A trial stopped early as a run that ended at its last observed step: its curve, that step as the
 * run's length and its last value as the final value. Null without a finite value at a positive step.
 * Callers keep the object (the calibration cache is keyed by it).
 */
export function stoppedRun(points: readonly CurvePoint[]): CompletedCurve | null {
  const observed = points.filter((point) => Number.isFinite(point.value) && point.step > 0);
  if (observed.length === 0) return null;
  const last = observed[observed.length - 1];
  return { points: observed, totalSteps: last.step, finalValue: last.value };
}

/** Spread of a curve's values: the scale its extrapolation error is measured in. */
export function valueRange(y: readonly number[]): number {
  let min = Infinity;
  let max = -Infinity;
  for (const v of y) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return max - min;
}

/**
 * The residual of `curve` cut at `progress` (points with step / totalSteps ≤ progress), or null when
 * the cut keeps fewer than `minPoints` points or its values do not move (nothing to scale by).
 */
export function calibrationResidual(
  curve: CompletedCurve,
  progress: number,
  minPoints: number,
  cache?: CalibrationCache,
): number | null {
  const { p, y } = toProgressPoints(curve.points, curve.totalSteps);
  let kept = 0;
  while (kept < p.length && p[kept] <= progress + 1e-12) kept++;
  // A cut at the last point predicts nothing: the real final value is already observed.
  if (kept < minPoints || kept >= p.length || !Number.isFinite(curve.finalValue)) return null;
  let memo = cache?.get(curve);
  const cached = memo?.get(kept);
  if (cached !== undefined) return cached;
  const py = p.slice(0, kept);
  const yy = y.slice(0, kept);
  const range = valueRange(yy);
  const fit = fitProgressCurve(py, yy);
  // Measured against the optimistic extrapolation, the one the stopping decision bounds from.
  const residual = fit !== null && range > 0 ? (curve.finalValue - fit.optimisticFinal) / range : null;
  if (cache !== undefined) {
    if (memo === undefined) cache.set(curve, (memo = new Map()));
    memo.set(kept, residual);
  }
  return residual;
}

/**
 * How much `curve` still changed from `progress` to its end: its final value − its value at the
 * last point with step / totalSteps ≤ progress (negative when it fell). Null when no point is that
 * early or the point is already the last.
 */
export function remainingDrop(curve: CompletedCurve, progress: number): number | null {
  const { p, y } = toProgressPoints(curve.points, curve.totalSteps);
  let at = -1;
  while (at + 1 < p.length && p[at + 1] <= progress + 1e-12) at++;
  if (at < 0 || at >= p.length - 1 || !Number.isFinite(curve.finalValue)) return null;
  return curve.finalValue - y[at];
}

/** Re-exported for the stopping decision; the one implementation lives in the neutral math folder. */
export { normalQuantile };

/**
 * Student-t quantile with `df` degrees of freedom, by the Cornish–Fisher expansion around the
 * normal quantile (within 1 % for df ≥ 3 at the usual confidences; for df = 1, 2 it stays below the
 * true quantile, and the empirical quantile in optimisticResidual covers that case).
 */
export function studentQuantile(probability: number, df: number): number {
  const z = normalQuantile(probability);
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return (
    z +
    (z3 + z) / (4 * df) +
    (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3)
  );
}

/** Lower `alpha`-quantile of sorted values, linear interpolation between order statistics. */
function lowerQuantile(sorted: readonly number[], alpha: number): number {
  const position = alpha * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/**
 * From this many residuals on, the parametric bound is fitted to their lower half: at least 3 of
 * them are then at or below the median, the fewest that give a spread with 2 degrees of freedom.
 */
export const LOWER_HALF_MIN_RESIDUALS = 5;

/**
 * Centre and variance for the parametric bound. With fewer than LOWER_HALF_MIN_RESIDUALS residuals,
 * their mean and sample variance. From there on, their median and the mean squared deviation of the
 * residuals below it (the variance of a distribution symmetric about its median): the bound is
 * one-sided, and a residual far above the median (an extrapolation that ended far too low, e.g. cut
 * in the middle of a late drop) says nothing about how far below its extrapolation a curve can end,
 * yet it would inflate a symmetric variance, and with it how far below every extrapolation the
 * bound lies.
 */
function centreAndVariance(sorted: readonly number[]): { centre: number; variance: number } {
  const n = sorted.length;
  if (n < LOWER_HALF_MIN_RESIDUALS) {
    const mean = sorted.reduce((s, r) => s + r, 0) / n;
    return { centre: mean, variance: sorted.reduce((s, r) => s + (r - mean) ** 2, 0) / (n - 1) };
  }
  const median = lowerQuantile(sorted, 0.5);
  const below = sorted.filter((r) => r < median);
  const variance = below.length === 0 ? 0 : below.reduce((s, r) => s + (r - median) ** 2, 0) / below.length;
  return { centre: median, variance };
}

/**
 * The residual a trial can still hope for at `confidence`: the smaller of a Student-t prediction
 * bound (centre − t·sd·√(1 + 1/n), widened by the running trial's own observation noise `noise`, in
 * range units; centre and sd from centreAndVariance) and the empirical (1 − confidence)-quantile.
 * Non-increasing in confidence. Needs at least 2 residuals; null otherwise.
 */
export function optimisticResidual(residuals: readonly number[], confidence: number, noise: number): number | null {
  const n = residuals.length;
  if (n < 2) return null;
  const sorted = [...residuals].sort((x, y) => x - y);
  const { centre, variance } = centreAndVariance(sorted);
  const spread = Math.sqrt(variance * (1 + 1 / n) + noise * noise);
  const parametric = centre - studentQuantile(confidence, n - 1) * spread;
  return Math.min(parametric, lowerQuantile(sorted, 1 - confidence));
}
