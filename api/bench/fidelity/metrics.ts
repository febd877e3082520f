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
   * Stopped trials whose full run would have beaten the incumbent at the time they were stopped for
   * good: a final stop when it stopped, a pause never resumed when it was given up (`givenUpAfter`).
   * A paused trial that was resumed later is not a stop (its entry's state is 'paused'): resumed,
   * it either completed (nothing lost) or was stopped again, which is judged as a final stop.
   */
  falseStops: number;
  /** Log indices of those false stops (for the per-shape counts). */
  falseStopEntries: number[];
  /**
   * Pauses (entries 'paused' or given up) whose full run would have beaten the incumbent at the
   * pause: successes the engine was told were failures at the time, whether or not a resume
   * delivered them later (the cost of pausing to the search's trajectory, which no false-stop
   * count shows).
   */
  hiddenSuccesses: number;
  /** Of `hiddenSuccesses`: configurations never completed in the study (never delivered). */
  hiddenNeverDelivered: number;
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
  const falseStopEntries: number[] = [];
  let hiddenSuccesses = 0;
  let hiddenNeverDelivered = 0;
  // The incumbent after the first k entries (incumbentAfter[k]), for pauses judged when given up.
  const incumbentAfter: number[] = [Infinity];
  for (const trial of log) {
    const final = curves[trial.config][totalSteps - 1];
    incumbentAfter.push(
      Math.min(incumbentAfter[incumbentAfter.length - 1], trial.state === 'complete' ? final : Infinity),
    );
  }
  const completedConfigs = new Set(log.filter((t) => t.state === 'complete').map((t) => t.config));
  for (const [index, trial] of log.entries()) {
    spent += (trial.steps + (trial.overheadSteps ?? 0)) * secondsPerStep;
    const at = trial.spentAtEnd ?? spent;
    const fullFinal = curves[trial.config][totalSteps - 1];
    if (trial.state === 'paused' || trial.givenUpAfter !== undefined) {
      if (fullFinal < incumbent) {
        hiddenSuccesses++;
        if (!completedConfigs.has(trial.config)) hiddenNeverDelivered++;
      }
    }
    if (trial.state === 'pruned') {
      stopped++;
      const judgedAgainst = trial.givenUpAfter === undefined ? incumbent : incumbentAfter[trial.givenUpAfter];
      if (fullFinal < judgedAgainst) {
        falseStops++;
        falseStopEntries.push(index);
      }
    } else if (trial.state === 'complete') {
      incumbent = Math.min(incumbent, fullFinal);
      if (at <= equalGpuSeconds) bestAtEqualGpu = Math.min(bestAtEqualGpu, fullFinal);
      targets.forEach((target, i) => {
        if (gpuToTarget[i] === null && fullFinal <= target) gpuToTarget[i] = at;
      });
    }
  }
  return {
    gpuToTarget,
    bestAtEqualGpu,
    stopped,
    falseStops,
    falseStopEntries,
    hiddenSuccesses,
    hiddenNeverDelivered,
    trials: log.length,
    gpuSeconds: spent,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
}
