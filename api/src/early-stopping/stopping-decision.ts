/**
 * The stopping decision for one running trial, taken each time its curve grows (on the heartbeat).
 * Pure: everything it needs is in the question; the service persists nothing of it but the answer.
 *
 * Direct search only needs to know whether a poll point beats the incumbent; a trial stopped
 * because it cannot is told to the engine as an unsuccessful evaluation, which is what its full run
 * would almost surely have been (docs/algorithm.md, "Early stopping").
 */
import {
  calibrationResidual,
  normalQuantile,
  optimisticResidual,
  remainingDrop,
  studentQuantile,
  valueRange,
  type CalibrationCache,
  type CompletedCurve,
} from './calibration';
import { extrapolateCurve, toProgressPoints, type CurveModelName, type CurvePoint } from './curve-extrapolation';
import { shapePriorBound } from './shape-prior';
import type { CurveStoppingPolicy, MedianStoppingPolicy, StoppingPolicy } from './stopping-policy';

export interface StopQuestion {
  /** The trial's values so far (e.g. validation loss, minimised), in step order. */
  curve: readonly CurvePoint[];
  /** The step a full run ends at (progress = step / totalSteps). */
  totalSteps: number;
  /**
   * What the trial must come in strictly below to be of use: the incumbent's value for a MADS poll
   * point. null when unknown (no incumbent yet): then the curve policy never stops.
   */
  threshold: number | null;
  /** X0 and any other trial the engine must see to the end. */
  protectedTrial: boolean;
  /** Trials of the study that ran to their last step (stopped trials excluded), oldest first. */
  completed: readonly CompletedCurve[];
  /**
   * Trials of the study stopped early, each as the run it was up to its stop (`stoppedRun`), oldest
   * first: they calibrate the extrapolation at the fraction of their own length (calibration.ts).
   */
  stopped?: readonly CompletedCurve[];
}

export type StopReason =
  /** Stops (the service reports them as `early_stopped`). */
  | 'cannot_beat_threshold'
  | 'worse_than_median'
  /** A pause only (pause-and-resume.ts): not below the incumbent's curve at the same step. */
  | 'behind_incumbent'
  /** Continues. */
  | 'policy_none'
  | 'protected_trial'
  | 'no_observation'
  | 'threshold_unknown'
  | 'calibrating'
  | 'warming_up'
  | 'between_intervals'
  | 'too_few_points'
  | 'no_median_yet'
  | 'not_worse_than_median'
  | 'can_still_beat_threshold';

export interface StopDecision {
  stop: boolean;
  reason: StopReason;
  /** step / totalSteps of the last observation (0 before any). */
  progress: number;
  lastValue: number | null;
  /** The curve policy's point prediction of the final value. */
  extrapolatedFinal: number | null;
  /** The optimistic final value at the policy's confidence; the trial stops when it is ≥ threshold + noiseMargin. */
  lowerBound: number | null;
  threshold: number | null;
  /**
   * How far the curve policy's lower bound must clear the threshold for a stop: z · the trial's
   * final-value noise (finalValueNoise). null when no bound was computed.
   */
  noiseMargin: number | null;
  /** The median policy's comparison value. */
  median: number | null;
  model: CurveModelName | null;
  /** Curves (completed, or stopped as runs of their own length) whose residual or drop calibrated this decision. */
  calibrationSize: number;
}

function lastObservation(curve: readonly CurvePoint[]): CurvePoint | null {
  return curve.length > 0 ? curve[curve.length - 1] : null;
}

function baseDecision(question: StopQuestion): StopDecision {
  const last = lastObservation(question.curve);
  return {
    stop: false,
    reason: 'policy_none',
    progress: last === null ? 0 : last.step / question.totalSteps,
    lastValue: last?.value ?? null,
    extrapolatedFinal: null,
    lowerBound: null,
    noiseMargin: null,
    threshold: question.threshold,
    median: null,
    model: null,
    calibrationSize: 0,
  };
}

/**
 * Decides whether the trial should stop now. `cache` (optional) keeps calibration residuals
 * between calls for the same completed-curve objects.
 */
export function decideEarlyStop(
  question: StopQuestion,
  policy: StoppingPolicy,
  cache?: CalibrationCache,
): StopDecision {
  const decision = baseDecision(question);
  if (policy.kind === 'none') return decision;
  if (question.protectedTrial) return { ...decision, reason: 'protected_trial' };
  if (question.curve.length === 0) return { ...decision, reason: 'no_observation' };
  return policy.kind === 'median'
    ? decideMedian(question, policy, decision)
    : decideCurve(question, policy, decision, cache);
}

/**
 * Optuna's MedianPruner (optuna/pruners/_percentile.py, PercentilePruner.prune at 50 %): the best
 * value of the trial so far against the median of completed trials' values at the current step.
 */
function decideMedian(question: StopQuestion, policy: MedianStoppingPolicy, decision: StopDecision): StopDecision {
  if (question.completed.length < policy.nStartupTrials) return { ...decision, reason: 'calibrating' };
  const step = Math.max(...question.curve.map((point) => point.step));
  if (step < policy.nWarmupSteps) return { ...decision, reason: 'warming_up' };
  // Only the first reported step of each interval after the warm-up is checked.
  const intervalStart =
    Math.floor((step - policy.nWarmupSteps) / policy.intervalSteps) * policy.intervalSteps + policy.nWarmupSteps;
  let previousStep = -1;
  for (const point of question.curve) if (point.step !== step) previousStep = Math.max(previousStep, point.step);
  if (!(previousStep < intervalStart)) return { ...decision, reason: 'between_intervals' };
  let best = Infinity;
  for (const point of question.curve) if (!Number.isNaN(point.value)) best = Math.min(best, point.value);
  // Optuna prunes a trial whose every value is NaN.
  if (best === Infinity && question.curve.every((point) => Number.isNaN(point.value))) {
    return { ...decision, stop: true, reason: 'worse_than_median' };
  }
  const atStep: number[] = [];
  for (const trial of question.completed) {
    const value = trial.points.find((point) => point.step === step)?.value;
    if (value !== undefined && !Number.isNaN(value)) atStep.push(value);
  }
  if (atStep.length === 0) return { ...decision, reason: 'no_median_yet' };
  atStep.sort((a, b) => a - b);
  const middle = atStep.length / 2;
  // numpy's nanpercentile at 50 (linear interpolation): the mean of the two middle values.
  const median = atStep.length % 2 === 1 ? atStep[Math.floor(middle)] : (atStep[middle - 1] + atStep[middle]) / 2;
  const stop = best > median;
  return { ...decision, stop, median, reason: stop ? 'worse_than_median' : 'not_worse_than_median' };
}

function decideCurve(
  question: StopQuestion,
  policy: CurveStoppingPolicy,
  decision: StopDecision,
  cache: CalibrationCache | undefined,
): StopDecision {
  const threshold = question.threshold;
  if (threshold === null || !Number.isFinite(threshold)) return { ...decision, reason: 'threshold_unknown' };
  if (question.completed.length < policy.calibrationTrials) return { ...decision, reason: 'calibrating' };
  if (decision.progress < policy.minProgress) return { ...decision, reason: 'warming_up' };
  const { p, y } = toProgressPoints(question.curve, question.totalSteps);
  if (y.length < policy.minPoints) return { ...decision, reason: 'too_few_points' };
  if (policy.rungs !== undefined && !atRung(p, policy.rungs)) return { ...decision, reason: 'between_intervals' };
  const fit = extrapolateCurve(question.curve, question.totalSteps);
  if (fit === null) return { ...decision, reason: 'too_few_points' };
  const withFit = { ...decision, extrapolatedFinal: fit.finalValue, model: fit.model };

  // Two lower bounds, each at 1 − (1 − confidence)/2, so that a stop is wrong with probability at
  // most 1 − confidence when both are right that often (Bonferroni).
  const shapeMode = policy.shapePrior ?? 'off';
  const boundCount = shapeMode === 'alone' ? 1 : shapeMode === 'max' ? 3 : 2;
  const eachConfidence = 1 - (1 - policy.confidence) / boundCount;
  const window = question.completed.slice(-policy.calibrationWindow);

  // 1. The trial's own extrapolation, widened by how far completed curves came in below theirs, and
  // stopped trials' curves below the extrapolation of the same fraction of their own length.
  const stoppedWindow = (question.stopped ?? []).slice(-policy.calibrationWindow);
  const residuals: number[] = [];
  for (const curve of [...window, ...stoppedWindow]) {
    const residual = calibrationResidual(curve, decision.progress, policy.minPoints, cache);
    if (residual !== null && Number.isFinite(residual)) residuals.push(residual);
  }
  const range = valueRange(y);
  const finalNoise = finalValueNoise(fit.rmse, y.length);
  const noise = range > 0 ? finalNoise / range : 0;
  const residual =
    residuals.length >= policy.calibrationTrials ? optimisticResidual(residuals, eachConfidence, noise) : null;
  // Never more optimistic than noise alone allows around the extrapolation (a flat curve has range 0).
  const extrapolationBound =
    residual === null
      ? null
      : fit.optimisticFinal + Math.min(residual * range, -noiseAllowance(finalNoise, eachConfidence));

  // 2. The trial's last value less what completed curves still lost from the same progress on
  // (completed only: a drop is in the curve's units and does not carry over to another horizon).
  // Model-free, so it may only confirm a stop the trial's own extrapolation agrees with: a curve
  // whose extrapolation beats the threshold is never stopped on the strength of other curves.
  const drops: number[] = [];
  for (const curve of window) {
    const drop = remainingDrop(curve, decision.progress);
    if (drop !== null) drops.push(drop);
  }
  const dropResidual = drops.length >= policy.calibrationTrials ? optimisticResidual(drops, eachConfidence, 0) : null;
  const dropBound = dropResidual === null || fit.optimisticFinal < threshold ? null : y[y.length - 1] + dropResidual;

  const shape =
    shapeMode === 'off'
      ? null
      : shapePriorBound(
          { p, y },
          decision.progress,
          window,
          shapeMode === 'min' ? policy.confidence : eachConfidence,
          noise,
          policy.minPoints,
          policy.calibrationTrials,
        );
  const shapeBound = shape === null ? null : shape.bound;
  const candidates =
    shapeMode === 'off'
      ? [extrapolationBound, dropBound]
      : shapeMode === 'min'
        ? (minOfBoth(fit.optimisticFinal, residuals, range, finalNoise, noise, shapeBound, policy) ?? [
            extrapolationBound,
            dropBound,
          ])
        : shapeMode === 'max'
          ? [extrapolationBound, dropBound, shapeBound]
          : shapeMode === 'replace_drop'
            ? [extrapolationBound, shapeBound]
            : [shapeBound];
  const bounds = candidates.filter((b): b is number => b !== null);
  const calibrationSize = Math.max(residuals.length, drops.length);
  const mode = policy.pairwise ?? 'off';
  const crossing =
    mode === 'off'
      ? null
      : crossingBound(
          y[y.length - 1],
          decision.progress,
          threshold,
          window,
          mode === 'or' ? eachConfidence : policy.confidence,
          policy.calibrationTrials,
        );
  if (bounds.length === 0 && crossing === null) return { ...withFit, reason: 'calibrating', calibrationSize };
  const lowerBound = bounds.length === 0 ? null : Math.max(...bounds);
  // The bound is where the trial's curve can end; the objective is one observation of it, which
  // its own noise can still carry below the bound (docs/algorithm.md, "the noise margin").
  const noiseMargin = noiseAllowance(finalNoise, eachConfidence);
  const curveStop = lowerBound !== null && lowerBound >= threshold + noiseMargin;
  const stop =
    crossing === null
      ? curveStop
      : mode === 'or'
        ? curveStop || crossing.stop
        : mode === 'and'
          ? curveStop && crossing.stop
          : crossing.stop;
  return {
    ...withFit,
    stop,
    lowerBound,
    noiseMargin,
    calibrationSize,
    reason: stop ? 'cannot_beat_threshold' : 'can_still_beat_threshold',
  };
}

/**
 * The pairwise crossing bound. For a MADS poll point only "will it end below the incumbent?"
 * matters, and the incumbent's whole curve is known. With d(p) = y(p) − final value (the drop a
 * curve still makes after progress p) and the gap g = y_trial(p) − y_inc(p) > 0, the trial ends
 * below the incumbent iff its drop exceeds the incumbent's by more than the gap:
 * x = (d_trial − d_inc) / d_inc > g / d_inc. The excess drop x of a curve that is behind another at
 * p, in units of the leader's remaining drop (scale-free within a study), is calibrated on every
 * ordered pair (a behind b at p) of completed curves; the trial stops when the excess it needs,
 * g / d_inc, is at least the upper bound of x at `confidence`: the larger of the empirical
 * quantile and a Student-t prediction bound with the number of curves (not pairs: pairs sharing a
 * curve are not independent) less one as degrees of freedom. Null (no opinion) when the incumbent's
 * curve is not among the completed ones (X0 without a curve, a barrier threshold), when it does not
 * drop after p, or with fewer than `minCurves` curves in behind pairs.
 */
export function crossingBound(
  trialValue: number,
  progress: number,
  threshold: number,
  completed: readonly CompletedCurve[],
  confidence: number,
  minCurves: number,
): { stop: boolean; needed: number; allowed: number; pairs: number } | null {
  const at = completed.map((curve) => {
    const drop = remainingDrop(curve, progress);
    return drop === null ? null : { value: curve.finalValue - drop, drop: -drop, curve };
  });
  let incumbent: { value: number; drop: number } | null = null;
  for (const entry of at) if (entry !== null && entry.curve.finalValue === threshold) incumbent = entry;
  if (incumbent === null || !(incumbent.drop > 0)) return null;
  const gap = trialValue - incumbent.value;
  const excess: number[] = [];
  const curvesInPairs = new Set<number>();
  for (let a = 0; a < at.length; a++) {
    for (let b = 0; b < at.length; b++) {
      const ea = at[a];
      const eb = at[b];
      if (a === b || ea === null || eb === null || !(ea.value > eb.value) || !(eb.drop > 0)) continue;
      excess.push((ea.drop - eb.drop) / eb.drop);
      curvesInPairs.add(a).add(b);
    }
  }
  const k = curvesInPairs.size;
  if (k < Math.max(2, minCurves) || excess.length < 2) return null;
  const n = excess.length;
  const mean = excess.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(excess.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const parametric = mean + studentQuantile(confidence, k - 1) * sd * Math.sqrt(1 + 1 / k);
  const sorted = [...excess].sort((x, y) => x - y);
  const position = confidence * (n - 1);
  const below = Math.floor(position);
  const empirical = sorted[below] + (position - below) * (sorted[Math.min(n - 1, below + 1)] - sorted[below]);
  // The larger of the two (the extrapolation rule takes the smaller): pairs are many but curves
  // few, and the empirical quantile of k(k − 1) dependent pairs is not a bound at `confidence`.
  const allowed = Math.max(parametric, empirical);
  const needed = gap / incumbent.drop;
  return { stop: gap > 0 && needed >= allowed, needed, allowed, pairs: n };
}

/**
 * The shape prior's 'min' mode: where both the extrapolation and the shape prior are calibrated, the
 * lower of the two bounds, each at the policy's full confidence (a stop then needs both, so it is
 * wrong with probability at most 1 − confidence without a split); null elsewhere (the default rule).
 */
function minOfBoth(
  optimisticFinal: number,
  residuals: readonly number[],
  range: number,
  finalNoise: number,
  noise: number,
  shapeBound: number | null,
  policy: CurveStoppingPolicy,
): number[] | null {
  if (shapeBound === null || residuals.length < policy.calibrationTrials) return null;
  const residual = optimisticResidual(residuals, policy.confidence, noise);
  if (residual === null) return null;
  const extrapolation = optimisticFinal + Math.min(residual * range, -noiseAllowance(finalNoise, policy.confidence));
  return [Math.min(extrapolation, shapeBound)];
}

/** Whether the last progress point is the first at or past one of `rungs` (opt-in rung-wise decisions). */
function atRung(p: readonly number[], rungs: readonly number[]): boolean {
  const current = p[p.length - 1];
  const previous = p.length > 1 ? p[p.length - 2] : 0;
  return rungs.some((rung) => previous < rung - 1e-12 && current >= rung - 1e-12);
}

/**
 * The standard deviation of one observation around the trial's fitted curve, the final one
 * included: the residual sum of squares over n − 3 degrees of freedom (both families have three
 * parameters), not over n. rmse = √(SSE/n) is that estimate shrunk by √((n − 3)/n), by half at the
 * 4 points the policy first decides on; with n ≤ 3 the fit is exact and its rmse says nothing
 * (1 degree of freedom is assumed, the widest this estimate gets).
 */
export function finalValueNoise(rmse: number, points: number): number {
  return rmse * Math.sqrt(points / Math.max(1, points - 3));
}

/** noise · z(confidence): how far noise alone can carry the final observation below the fit. */
function noiseAllowance(rmse: number, confidence: number): number {
  return rmse * Math.max(0, normalQuantile(confidence));
}
