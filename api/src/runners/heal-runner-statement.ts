/**
 * SQL that makes the runner whose id is `runnerParameter` (e.g. `$2`) healthy again after it
 * completed a trial, for the report's own statement (trials/store/trial-store.ts). It touches the
 * row only when there is something to forget; a quarantined runner stays so. A leaf of its own so
 * that the trial store can embed it without importing runner health (which uses the store).
 */
export function healRunnerStatement(runnerParameter: string): string {
  return `UPDATE runners SET health = 'healthy', failure_streak = 0, failure_streak_started_at = NULL,
                 evaluation_failure_streak = 0, evaluation_failure_streak_started_at = NULL
           WHERE id = ${runnerParameter} AND (failure_streak > 0 OR evaluation_failure_streak > 0)
             AND quarantined_at IS NULL`;
}
