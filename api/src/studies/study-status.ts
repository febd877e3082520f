export const STUDY_STATUSES = ['active', 'paused', 'completed', 'stopped'] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

/** Why a study ended: the engine's stop reasons plus the user's stop. */
export const STUDY_STOP_REASONS = ['max_evaluations', 'mesh_converged', 'x0_failed', 'user_stopped'] as const;
export type StudyStopReason = (typeof STUDY_STOP_REASONS)[number];
