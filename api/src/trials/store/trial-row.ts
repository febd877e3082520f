import { Trial } from '../trial.entity';

/** A `trials` row as raw SQL returns it (RETURNING t.*), column names as in the table. */
export interface TrialRow {
  id: string;
  study_id: string;
  number: number;
  status: Trial['status'];
  origin: Trial['origin'];
  point: number[];
  point_key: string;
  parameters: Trial['parameters'];
  attempt: number;
  runner_failures: number;
  runner_id: string | null;
  lease_expires_at: Date | null;
  progress: number | null;
  outputs: Record<string, number> | null;
  error: string | null;
  stop_reason: Trial['stopReason'];
  early_stop: Trial['earlyStop'];
  total_steps: number | null;
  gpu_seconds: number | null;
  gpu_seconds_earlier_attempts: number;
  effective_config: Record<string, unknown> | null;
  adapter: Trial['adapter'];
  min_gpu_memory_mb: number | null;
  report_hash: string | null;
  told: boolean;
  resumes: number;
  evaluation_number: number | null;
  objective: number | null;
  infeasibility: number | null;
  feasible: boolean | null;
  last_heartbeat_at: Date | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** The entity for a raw row, for the hot paths that skip the ORM's query building. */
export function trialFromRow(row: TrialRow): Trial {
  return Object.assign(new Trial(), {
    id: row.id,
    studyId: row.study_id,
    number: row.number,
    status: row.status,
    origin: row.origin,
    point: row.point,
    pointKey: row.point_key,
    parameters: row.parameters,
    attempt: row.attempt,
    runnerFailures: row.runner_failures,
    runnerId: row.runner_id,
    leaseExpiresAt: row.lease_expires_at,
    progress: row.progress,
    outputs: row.outputs,
    error: row.error,
    stopReason: row.stop_reason,
    earlyStop: row.early_stop,
    totalSteps: row.total_steps,
    gpuSeconds: row.gpu_seconds,
    gpuSecondsEarlierAttempts: row.gpu_seconds_earlier_attempts,
    effectiveConfig: row.effective_config,
    adapter: row.adapter,
    minGpuMemoryMb: row.min_gpu_memory_mb,
    reportHash: row.report_hash,
    told: row.told,
    resumes: row.resumes,
    evaluationNumber: row.evaluation_number,
    objective: row.objective,
    infeasibility: row.infeasibility,
    feasible: row.feasible,
    lastHeartbeatAt: row.last_heartbeat_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  });
}
