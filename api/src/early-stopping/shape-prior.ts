/**
 * A curve-shape prior learned from the study's own completed curves (opt-in, bench:fidelity only;
 * docs/benchmarks.md, "A learned curve-shape prior and rung-wise decisions").
 *
 * The running trial's prefix (its points up to progress p) is matched against the same progress
 * span of every completed curve: an affine map trial ≈ α + β·curve (β ≥ 0, least squares) says how
 * the trial's curve looks like that curve stretched in value, and α + β·(that curve's final value)
 * is what the trial would end at if it kept following it. The prediction is the one of the
 * completed curve the prefix matches best (smallest squared error). Its error is calibrated
 * leave-one-out on the completed curves themselves: each completed curve, cut at p, is predicted
 * from the others the same way, and its residual (real final − prediction) / range of its prefix
 * joins the sample from which `optimisticResidual` takes the bound at the requested confidence.
 */
import { optimisticResidual, valueRange, type CompletedCurve } from './calibration';
import { toProgressPoints } from './curve-extrapolation';

interface Prefix {
  p: number[];
  y: number[];
}

/** The completed curve's value at progress `at`, linear between its points; null outside them. */
function valueAt(curve: Prefix, at: number): number | null {
  const { p, y } = curve;
  if (p.length === 0 || at < p[0] - 1e-12 || at > p[p.length - 1] + 1e-12) return null;
  let i = 0;
  while (i + 1 < p.length && p[i + 1] < at - 1e-12) i++;
  if (i + 1 >= p.length || Math.abs(p[i] - at) <= 1e-12) return y[i];
  const w = (at - p[i]) / (p[i + 1] - p[i]);
  return y[i] + w * (y[i + 1] - y[i]);
}

/**
 * The prediction of the final value of `prefix` from the completed curve it matches best, or null
 * when no library curve spans at least `minPoints` of the prefix's progress points.
 */
export function shapeMatchPrediction(
  prefix: Prefix,
  library: readonly { full: Prefix; finalValue: number }[],
  minPoints: number,
): number | null {
  let best: { sse: number; prediction: number } | null = null;
  for (const curve of library) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k < prefix.p.length; k++) {
      const x = valueAt(curve.full, prefix.p[k]);
      if (x !== null) {
        xs.push(x);
        ys.push(prefix.y[k]);
      }
    }
    const n = xs.length;
    if (n < minPoints) continue;
    const mx = xs.reduce((s, v) => s + v, 0) / n;
    const my = ys.reduce((s, v) => s + v, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (let k = 0; k < n; k++) {
      sxx += (xs[k] - mx) ** 2;
      sxy += (xs[k] - mx) * (ys[k] - my);
    }
    const beta = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
    const alpha = my - beta * mx;
    let sse = 0;
    for (let k = 0; k < n; k++) sse += (ys[k] - alpha - beta * xs[k]) ** 2;
    const prediction = alpha + beta * curve.finalValue;
    if (Number.isFinite(prediction) && (best === null || sse < best.sse)) best = { sse, prediction };
  }
  return best?.prediction ?? null;
}

function cut(full: Prefix, progress: number): Prefix {
  let kept = 0;
  while (kept < full.p.length && full.p[kept] <= progress + 1e-12) kept++;
  return { p: full.p.slice(0, kept), y: full.y.slice(0, kept) };
}

/**
 * The shape prior's lower bound on the trial's final value at `confidence`, or null with fewer than
 * `minResiduals` leave-one-out residuals. `noise`: the trial's own observation noise in range units
 * (as for the extrapolation bound).
 */
export function shapePriorBound(
  trial: Prefix,
  progress: number,
  completed: readonly CompletedCurve[],
  confidence: number,
  noise: number,
  minPoints: number,
  minResiduals: number,
): { bound: number; prediction: number; residuals: number } | null {
  const library = completed
    .filter((c) => Number.isFinite(c.finalValue))
    .map((c) => ({ full: toProgressPoints(c.points, c.totalSteps), finalValue: c.finalValue }));
  const prediction = shapeMatchPrediction(trial, library, minPoints);
  if (prediction === null) return null;
  const residuals: number[] = [];
  for (let j = 0; j < library.length; j++) {
    const prefix = cut(library[j].full, progress);
    // A cut at the last point predicts nothing (the final value is observed).
    if (prefix.p.length < minPoints || prefix.p.length >= library[j].full.p.length) continue;
    const range = valueRange(prefix.y);
    if (!(range > 0)) continue;
    const others = library.filter((_, i) => i !== j);
    const predicted = shapeMatchPrediction(prefix, others, minPoints);
    if (predicted !== null) residuals.push((library[j].finalValue - predicted) / range);
  }
  if (residuals.length < Math.max(2, minResiduals)) return null;
  const residual = optimisticResidual(residuals, confidence, noise);
  if (residual === null) return null;
  return { bound: prediction + residual * valueRange(trial.y), prediction, residuals: residuals.length };
}
