/**
 * The figures of `npm run bench:fidelity`, computed the same way for every system from its trial
 * log and the tabulated curves (a trial's final value is the last value of its curve).
 */
import type { TrialLog } from './studies';

export interface StudyFigures {
  /** GPU-seconds spent when a completed trial first came in at or below each target; null if never. */
  gpuToTarget: (number | null)[];
  /** Best final value among trials completed within `equalGpuSeconds`. */
  bestAtEqualGpu: number;
  stopped: number;
  /**
   * Stopped trials whose full run would have beaten the incumbent at the time they were stopped (a
   * paused trial that was resumed later is not a stop: its entry's state is 'paused').
   */
  falseStops: number;
  trials: number;
  gpuSeconds: number;
}

export function studyFigures(
  log: readonly TrialLog[],
  curves: readonly (readonly number[])[],
  totalSteps: number,
  secondsPerStep: number,
  targets: readonly number[],
  equalGpuSeconds: number,
): StudyFigures {
  const gpuToTarget: (number | null)[] = targets.map(() => null);
  let spent = 0;
  let incumbent = Infinity;
  let bestAtEqualGpu = Infinity;
  let stopped = 0;
  let falseStops = 0;
  for (const trial of log) {
    spent += (trial.steps + (trial.overheadSteps ?? 0)) * secondsPerStep;
    const at = trial.spentAtEnd ?? spent;
    const fullFinal = curves[trial.config][totalSteps - 1];
    if (trial.state === 'pruned') {
      stopped++;
      if (fullFinal < incumbent) falseStops++;
    } else if (trial.state === 'complete') {
      incumbent = Math.min(incumbent, fullFinal);
      if (at <= equalGpuSeconds) bestAtEqualGpu = Math.min(bestAtEqualGpu, fullFinal);
      targets.forEach((target, i) => {
        if (gpuToTarget[i] === null && fullFinal <= target) gpuToTarget[i] = at;
      });
    }
  }
  return { gpuToTarget, bestAtEqualGpu, stopped, falseStops, trials: log.length, gpuSeconds: spent };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
}
