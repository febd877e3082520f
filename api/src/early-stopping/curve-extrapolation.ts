/**
 * Extrapolation of a learning curve (a value to minimise, e.g. validation loss, against the
 * fraction p ∈ (0, 1] of the run) to its final step.
 *
 * Two decaying families with an offset c, the value the curve levels off at:
 *   power law    y = c + a·p^(−b)   (b > 0)
 *   exponential  y = c + a·e^(−k·p) (k > 0)
 * For a fixed c both are linear in log space (log(y − c) against log p, or against p), so each is
 * fitted by linear least squares there for every c, and c itself is chosen by minimising the
 * squared error in the original space: a log-spaced scan of the gap d = min(y) − c, refined by a
 * golden-section search. A curve that neither family fits as decreasing (flat or rising) gets the
 * `flat` model: the mean of its last third. The model with the smaller error is the point estimate.
 *
 * Early in a run the families are often indistinguishable: three points fit both exactly, yet one
 * may level off far below the other. A stopping rule must not bet on the wrong one, so the fit also
 * returns the optimistic final value: the lowest prediction among the families that fit about as
 * well as the best (see PLAUSIBLE_SSE_FACTOR).
 *
 * The error of this point estimate is not modelled here: calibration.ts measures it on the study's
 * completed curves.
 */

/** One observed value of a trial's curve: `step` counts from 1 to the run's total steps. */
export interface CurvePoint {
  step: number;
  value: number;
}

export type CurveModelName = 'power_law' | 'exponential' | 'flat';

export interface CurveFit {
  model: CurveModelName;
  /** The value the model predicts at p = 1 (the final step). */
  finalValue: number;
  /** Root-mean-square residual of the fit, in the curve's units: the observation noise it sees. */
  rmse: number;
  /**
   * The lowest final value predicted by a family that fits the points about as well as the best one
   * (≤ finalValue). What a stopping decision must assume the trial can still reach.
   */
  optimisticFinal: number;
}

/**
 * A family is as plausible as the best one when its squared error is within this factor of the
 * best's (or both are at rounding level). With many points the true family fits far better and the
 * other drops out; with few points both stay in and the lower prediction governs stopping.
 */
const PLAUSIBLE_SSE_FACTOR = 4;

/** Points as (progress, value), finite values only, in step order. */
export function toProgressPoints(points: readonly CurvePoint[], totalSteps: number): { p: number[]; y: number[] } {
  const p: number[] = [];
  const y: number[] = [];
  for (const point of points) {
    if (!Number.isFinite(point.value) || !(point.step > 0)) continue;
    p.push(point.step / totalSteps);
    y.push(point.value);
  }
  return { p, y };
}

interface FamilyFit {
  sse: number;
  predict: (p: number) => number;
}

type Family = 'power_law' | 'exponential';

/** Least squares of log(y − c) on u (u = log p or p) for one offset c; null when not decreasing. */
function fitFamilyAtOffset(family: Family, p: readonly number[], y: readonly number[], c: number): FamilyFit | null {
  const n = p.length;
  let su = 0;
  let sz = 0;
  let suu = 0;
  let suz = 0;
  for (let i = 0; i < n; i++) {
    const u = family === 'power_law' ? Math.log(p[i]) : p[i];
    const z = Math.log(y[i] - c);
    su += u;
    sz += z;
    suu += u * u;
    suz += u * z;
  }
  const varU = suu - (su * su) / n;
  if (!(varU > 0)) return null;
  const slope = (suz - (su * sz) / n) / varU;
  if (!(slope < 0)) return null;
  const intercept = (sz - slope * su) / n;
  const predict =
    family === 'power_law'
      ? (q: number) => c + Math.exp(intercept + slope * Math.log(q))
      : (q: number) => c + Math.exp(intercept + slope * q);
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i] - predict(p[i])) ** 2;
  return Number.isFinite(sse) ? { sse, predict } : null;
}

const SCAN_POINTS = 48;
const GOLDEN_ITERATIONS = 40;
/** The offset gap d is scanned over [range·1e−5, range·1e4] on a log scale. */
const GAP_MIN = 1e-5;
const GAP_MAX = 1e4;

/** Best offset for one family: scan of log d, then golden-section search around the best scan point. */
function fitFamily(family: Family, p: readonly number[], y: readonly number[], min: number, range: number) {
  const logLo = Math.log(range * GAP_MIN);
  const logHi = Math.log(range * GAP_MAX);
  const at = (logGap: number) => fitFamilyAtOffset(family, p, y, min - Math.exp(logGap));
  let bestIndex = -1;
  let best: FamilyFit | null = null;
  const stepSize = (logHi - logLo) / (SCAN_POINTS - 1);
  for (let i = 0; i < SCAN_POINTS; i++) {
    const fit = at(logLo + i * stepSize);
    if (fit !== null && (best === null || fit.sse < best.sse)) {
      best = fit;
      bestIndex = i;
    }
  }
  if (best === null) return null;
  // Golden-section search in the bracket around the best scan point; an invalid fit counts as +∞.
  let a = logLo + Math.max(0, bestIndex - 1) * stepSize;
  let b = logLo + Math.min(SCAN_POINTS - 1, bestIndex + 1) * stepSize;
  const ratio = (Math.sqrt(5) - 1) / 2;
  const sseAt = (x: number) => at(x)?.sse ?? Infinity;
  let x1 = b - ratio * (b - a);
  let x2 = a + ratio * (b - a);
  let f1 = sseAt(x1);
  let f2 = sseAt(x2);
  for (let i = 0; i < GOLDEN_ITERATIONS; i++) {
    if (f1 <= f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - ratio * (b - a);
      f1 = sseAt(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + ratio * (b - a);
      f2 = sseAt(x2);
    }
  }
  const refined = at(f1 <= f2 ? x1 : x2);
  return refined !== null && refined.sse < best.sse ? refined : best;
}

function flatFit(y: readonly number[]): CurveFit {
  const tail = y.slice(-Math.max(2, Math.ceil(y.length / 3)));
  const mean = tail.reduce((s, v) => s + v, 0) / tail.length;
  const sse = tail.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { model: 'flat', finalValue: mean, rmse: Math.sqrt(sse / tail.length), optimisticFinal: mean };
}

/**
 * Fits the curve given as progress fractions `p` (ascending, in (0, 1]) and values `y` and returns
 * the predicted final value; null with fewer than 3 points (a 3-parameter model needs 3).
 */
export function fitProgressCurve(p: readonly number[], y: readonly number[]): CurveFit | null {
  const n = p.length;
  if (n < 3) return null;
  let min = Infinity;
  let max = -Infinity;
  for (const v of y) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const range = max - min;
  // A constant curve (or one too flat to resolve in floating point) is its own extrapolation.
  if (!(range > 1e-12 * Math.max(1, Math.abs(max)))) return flatFit(y);
  const fits: { model: Family; sse: number; finalValue: number }[] = [];
  for (const family of ['power_law', 'exponential'] as const) {
    const fit = fitFamily(family, p, y, min, range);
    if (fit !== null) {
      const finalValue = fit.predict(1);
      if (Number.isFinite(finalValue)) fits.push({ model: family, sse: fit.sse, finalValue });
    }
  }
  if (fits.length === 0) return flatFit(y);
  const best = fits.reduce((a, b) => (b.sse < a.sse ? b : a));
  // Rounding level of a squared error for values of this size: exact fits of different families
  // differ only here.
  const roundingSse = n * (1e-6 * Math.max(range, Math.abs(max))) ** 2;
  const tolerance = Math.max(PLAUSIBLE_SSE_FACTOR * best.sse, roundingSse);
  let optimisticFinal = best.finalValue;
  for (const fit of fits) if (fit.sse <= tolerance) optimisticFinal = Math.min(optimisticFinal, fit.finalValue);
  return { model: best.model, finalValue: best.finalValue, rmse: Math.sqrt(best.sse / n), optimisticFinal };
}

/** Fits a trial's observed curve and predicts its value at step `totalSteps`. */
export function extrapolateCurve(points: readonly CurvePoint[], totalSteps: number): CurveFit | null {
  const { p, y } = toProgressPoints(points, totalSteps);
  return fitProgressCurve(p, y);
}
