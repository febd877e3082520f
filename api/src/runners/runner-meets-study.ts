/** SQL expressions for a runner's labels (jsonb), GPU count and memory per GPU (MiB, null: unknown). */
export interface RunnerCapacitySql {
  labels: string;
  gpus: string;
  gpuMemoryMb: string;
}

/**
 * SQL: the runner meets the requirements of study `s` (its labels, GPU count and memory per GPU).
 * A runner whose memory is unknown (null) meets no memory requirement: the comparison is null.
 * A leaf of its own, like heal-runner-statement.ts, so that both the trial store's lease query
 * (`studiesWithRoom`) and the runner store (`liveRunnerFits`) embed the one definition (through
 * RUNNER_MAY_LEASE).
 */
export function RUNNER_MEETS_STUDY(s: string, runner: RunnerCapacitySql): string {
  return `${s}.required_runner_labels <@ ${runner.labels}
          AND (${s}.required_runner_gpus IS NULL OR ${s}.required_runner_gpus <= ${runner.gpus})
          AND (${s}.required_runner_gpu_memory_mb IS NULL OR ${s}.required_runner_gpu_memory_mb <= ${runner.gpuMemoryMb})`;
}

/**
 * SQL: runner `runnerId` has not declined study `s` within `expiresAfterMs` milliseconds (both SQL
 * expressions; runner-study-decline.entity.ts; docs/reliability.md, finding 49), by the
 * database's clock, as the decline was written (finding 54). Only that one (runner, study) pair is
 * ever excluded: a decline keeps the study from the runner, never the runner from other studies.
 */
export function NOT_DECLINED_BY(s: string, runnerId: string, expiresAfterMs: string): string {
  return `NOT EXISTS (SELECT 1 FROM runner_study_declines d
                       WHERE d.runner_id = ${runnerId} AND d.study_id = ${s}.id AND ${DECLINE_IN_FORCE('d', expiresAfterMs)})`;
}

/**
 * SQL: decline row `d` of runner_study_declines is still in force, `expiresAfterMs` (an SQL
 * expression, milliseconds) after it was written. PostgreSQL's `now()` on both sides, the write
 * (runner-store.ts, `recordDecline`) and every read (finding 54): with the API's clock on one side,
 * a decline lasted the configured time plus the skew between the API's host and the database's —
 * nothing at all when the API's clock ran behind by more than that time.
 */
export function DECLINE_IN_FORCE(d: string, expiresAfterMs: string): string {
  return `${d}.declined_at > now() - ${expiresAfterMs} * interval '1 millisecond'`;
}

/** SQL: when decline row `d` stops being in force (`DECLINE_IN_FORCE`), by the database's clock. */
export function DECLINE_EXPIRES_AT(d: string, expiresAfterMs: string): string {
  return `${d}.declined_at + ${expiresAfterMs} * interval '1 millisecond'`;
}

/**
 * SQL: runner `runner.id` may lease study `s`: it meets the study's requirements
 * (RUNNER_MEETS_STUDY) and has not declined it within `declineExpiresAfterMs` (an SQL expression, milliseconds; NOT_DECLINED_BY).
 * The one rule of the lease query (`studiesWithRoom`) and of every question about which runners a
 * study's trials may wait for (`liveRunnerFits`): asked there without the decline, a trial out of
 * GPU memory waited for a runner the lease would never give it to (docs/reliability.md, finding 53).
 */
export function RUNNER_MAY_LEASE(
  s: string,
  runner: RunnerCapacitySql & { id: string },
  declineExpiresAfterMs: string,
): string {
  return `${RUNNER_MEETS_STUDY(s, runner)}
          AND ${NOT_DECLINED_BY(s, runner.id, declineExpiresAfterMs)}`;
}
