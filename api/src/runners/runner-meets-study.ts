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
 * SQL: runner `runnerId` (an SQL expression) has not declined study `s` within `expiresAfterMs`
 * (runner-study-decline.entity.ts; docs/reliability.md, finding 49). Only that one (runner,
 * study) pair is ever excluded: a decline keeps the study from the runner, never the runner from
 * other studies.
 */
export function NOT_DECLINED_BY(s: string, runnerId: string, expiresAfterMs: number): string {
  return `NOT EXISTS (SELECT 1 FROM runner_study_declines d
                       WHERE d.runner_id = ${runnerId} AND d.study_id = ${s}.id
                         AND d.declined_at > now() - ${Math.trunc(expiresAfterMs)} * interval '1 millisecond')`;
}

/**
 * SQL: runner `runner.id` may lease study `s`: it meets the study's requirements
 * (RUNNER_MEETS_STUDY) and has not declined it within `declineExpiresAfterMs` (NOT_DECLINED_BY).
 * The one rule of the lease query (`studiesWithRoom`) and of every question about which runners a
 * study's trials may wait for (`liveRunnerFits`): asked there without the decline, a trial out of
 * GPU memory waited for a runner the lease would never give it to (docs/reliability.md, finding 53).
 */
export function RUNNER_MAY_LEASE(
  s: string,
  runner: RunnerCapacitySql & { id: string },
  declineExpiresAfterMs: number,
): string {
  return `${RUNNER_MEETS_STUDY(s, runner)}
          AND ${NOT_DECLINED_BY(s, runner.id, declineExpiresAfterMs)}`;
}
