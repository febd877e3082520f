/**
 * The one definition of study statuses and stop reasons: the API (entity, DTOs, OpenAPI enums)
 * and the dashboard (labels, colours) both import this file, so each has one spelling.
 */
export const STUDY_STATUSES = ['active', 'paused', 'completed', 'failed', 'stopped'] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

/** Statuses a study never leaves: no lease, enqueue or import. */
export const FINISHED_STUDY_STATUSES: readonly StudyStatus[] = ['completed', 'failed', 'stopped'];

export function isFinishedStudy(status: StudyStatus): boolean {
  return FINISHED_STUDY_STATUSES.includes(status);
}

/** Why a study ended: the engine's stop reasons plus the user's stop. */
export const STUDY_STOP_REASONS = [
  'max_evaluations',
  'max_gpu_hours',
  'mesh_converged',
  'x0_failed',
  'user_stopped',
] as const;
export type StudyStopReason = (typeof STUDY_STOP_REASONS)[number];

/**
 * The status a study ends in for each reason: every X0 point failed means the study found
 * nothing at all — `failed`, never `completed`.
 */
export const FINAL_STATUS_OF: Record<StudyStopReason, StudyStatus> = {
  max_evaluations: 'completed',
  max_gpu_hours: 'completed',
  mesh_converged: 'completed',
  x0_failed: 'failed',
  user_stopped: 'stopped',
};

/** What each stop reason means, for people (dashboard, CLI output). */
export const STOP_REASON_LABELS: Record<StudyStopReason, string> = {
  max_evaluations: 'evaluation budget spent',
  max_gpu_hours: 'GPU-hour budget spent',
  mesh_converged: 'mesh converged',
  x0_failed: 'every starting point (X0) failed',
  user_stopped: 'stopped by a user',
};

/**
 * A finished study whose evaluations mostly failed did not really explore its space: the API
 * flags it (`evaluationsMostlyFailed`) and the dashboard shows the warning.
 */
export function evaluationsMostlyFailed(failedEvaluations: number, evaluations: number): boolean {
  return evaluations > 0 && failedEvaluations * 2 > evaluations;
}
