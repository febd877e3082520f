/**
 * meshtune's side of `npm run bench:fidelity`: a sequential search over a fixed sequence of
 * configurations (the same one Optuna's replay sampler gets), so that the only thing that differs
 * between its runs is the stopping policy. Each trial reports its tabulated curve step by step and
 * asks api/src/early-stopping after every step but the last, with the incumbent (the best final
 * value of the trials completed so far) as threshold and the first trial (X0) protected, and the
 * curves of the trials stopped so far — what the service does on each heartbeat of a MADS poll point.
 */
import {
  createCalibrationCache,
  decideEarlyStop,
  stoppedRun,
  type CompletedCurve,
  type CurvePoint,
  type StoppingPolicy,
} from '../../src/early-stopping';

/** 'paused': stopped early and resumed later (promote.ts); the resumed part is a later entry. */
export type TrialState = 'complete' | 'pruned' | 'cut' | 'paused';

/** One trial of a study, in the shape optuna_pruners.py writes ('pruned' = stopped early). */
export interface TrialLog {
  config: number;
  /** Steps run in this entry (for a resumed entry, only the steps after the pause). */
  steps: number;
  state: TrialState;
  /** The continuation of an earlier 'paused' entry of the same configuration (promote.ts). */
  resumed?: boolean;
  /** Steps' worth of GPU-seconds charged on top of `steps` (reloading the model and checkpoint). */
  overheadSteps?: number;
  /**
   * GPU-seconds the study had spent when this entry ended, when trials ran in flight (the closed
   * loop with q > 1): there the log is in order of ending and other trials' partial runs count too.
   * Absent: the log is in the order GPU-seconds were spent (the sum of the entries so far).
   */
  spentAtEnd?: number;
  /**
   * A paused entry that was never resumed (promote.ts, closed-loop.ts): how many log entries came
   * before it was given up (ruled out at a resume choice, or still paused when the study ended).
   * A pause's false stop is judged against the incumbent at that moment, not at the pause
   * (metrics.ts).
   */
  givenUpAfter?: number;
}

export interface StudySettings {
  totalSteps: number;
  secondsPerStep: number;
  /** The study ends when this many GPU-seconds are spent; the trial running then is cut. */
  maxGpuSeconds: number;
  maxTrials: number;
}

export function runSequentialStudy(
  curves: readonly (readonly number[])[],
  sequence: readonly number[],
  policy: StoppingPolicy,
  settings: StudySettings,
): TrialLog[] {
  const { totalSteps, secondsPerStep, maxGpuSeconds } = settings;
  const cache = createCalibrationCache();
  const completed: CompletedCurve[] = [];
  const stopped: CompletedCurve[] = [];
  const log: TrialLog[] = [];
  let incumbent: number | null = null;
  let spent = 0;
  for (const config of sequence.slice(0, settings.maxTrials)) {
    if (spent >= maxGpuSeconds) break;
    const curve = curves[config];
    const points: CurvePoint[] = [];
    let state: TrialState = 'complete';
    for (let step = 1; step <= totalSteps; step++) {
      if (spent >= maxGpuSeconds) {
        state = 'cut';
        break;
      }
      spent += secondsPerStep;
      points.push({ step, value: curve[step - 1] });
      if (step === totalSteps) break;
      const decision = decideEarlyStop(
        { curve: points, totalSteps, threshold: incumbent, protectedTrial: log.length === 0, completed, stopped },
        policy,
        cache,
      );
      if (decision.stop) {
        state = 'pruned';
        break;
      }
    }
    log.push({ config, steps: points.length, state });
    if (state === 'pruned') {
      const run = stoppedRun(points);
      if (run !== null) stopped.push(run);
    }
    if (state === 'complete') {
      const finalValue = curve[totalSteps - 1];
      completed.push({ points, totalSteps, finalValue });
      incumbent = incumbent === null ? finalValue : Math.min(incumbent, finalValue);
    }
    if (state === 'cut') break;
  }
  return log;
}
