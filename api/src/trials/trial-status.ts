export const TRIAL_STATUSES = ['pending', 'running', 'completed', 'failed', 'stopped'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export const TRIAL_ORIGINS = ['x0', 'search', 'poll', 'random', 'user', 'import'] as const;
export type TrialOrigin = (typeof TRIAL_ORIGINS)[number];
