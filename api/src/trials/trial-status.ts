/**
 * `paused`: stopped early by a policy with `resume` on (docs/algorithm.md, "Early stopping: pause
 * and resume"): told to the engine as an unsuccessful evaluation like an early-stopped trial (stop
 * reason `early_stopped`, so UNTOLD_RESULT covers it), and not final: it may go back to `pending`
 * (resumed from its checkpoint) or end `stopped` (the study ended while it was paused).
 */
export const TRIAL_STATUSES = ['pending', 'running', 'completed', 'failed', 'stopped', 'paused'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export const TRIAL_ORIGINS = ['x0', 'search', 'poll', 'random', 'user', 'import'] as const;
export type TrialOrigin = (typeof TRIAL_ORIGINS)[number];

/**
 * SQL condition of a result stored but not told to the engine yet (EngineService tells it):
 * also the predicate of the partial index ix_trials_untold, so the queries can use it. An
 * early-stopped or paused trial is a result (an unsuccessful evaluation; both carry stop reason
 * `early_stopped`); a trial stopped because its study ended is not. A resumed trial's result is
 * told again (EvaluationResult.resumed), without counting a new evaluation.
 */
export const UNTOLD_RESULT = "told = false AND (status IN ('completed', 'failed') OR stop_reason = 'early_stopped')";

/** Why a trial is `stopped`: only early stopping sets one (a trial stopped because its study ended has none). */
export const TRIAL_STOP_REASONS = ['early_stopped'] as const;
export type TrialStopReason = (typeof TRIAL_STOP_REASONS)[number];

/** What an early-stopped trial keeps of the decision (docs/algorithm.md, "Early stopping"). */
export interface EarlyStopRecord {
  /** The policy's own reason (`cannot_beat_threshold`, `worse_than_median`). */
  rule: string;
  /** step / totalSteps at the stop. */
  progress: number;
  /** Last observed value of the objective's curve (minimised: a maximised objective negated). */
  lastValue: number | null;
  /** The curve policy's extrapolation of the final value (for inspection only: never told to the engine). */
  extrapolatedFinal: number | null;
  lowerBound: number | null;
  threshold: number | null;
  median: number | null;
  model: string | null;
  calibrationSize: number;
}

/** Where a completed trial's trained adapter lies, as its runner reported it (`complete`). */
export interface TrialAdapter {
  /** A path on the runner's disk or a shared file system, or an object store URL. */
  location: string;
  /** The adapter's size in bytes, when the runner reported it. */
  sizeBytes: number | null;
}
