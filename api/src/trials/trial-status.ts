export const TRIAL_STATUSES = ['pending', 'running', 'completed', 'failed', 'stopped'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export const TRIAL_ORIGINS = ['x0', 'search', 'poll', 'random', 'user', 'import'] as const;
export type TrialOrigin = (typeof TRIAL_ORIGINS)[number];

/**
 * SQL condition of a result stored but not told to the engine yet (EngineService tells it):
 * also the predicate of the partial index ix_trials_untold, so the queries can use it.
 */
export const UNTOLD_RESULT = "told = false AND status IN ('completed', 'failed')";
