import type { TrialMetricDto, TrialResponseDto } from './dto/trial-response.dto';
import type { Trial } from './trial.entity';

export function toTrialResponse(trial: Trial, metrics?: TrialMetricDto[]): TrialResponseDto {
  return {
    id: trial.id,
    studyId: trial.studyId,
    number: trial.number,
    status: trial.status,
    origin: trial.origin,
    parameters: trial.parameters,
    point: trial.point,
    attempt: trial.attempt,
    runnerFailures: trial.runnerFailures,
    runnerId: trial.runnerId,
    leaseExpiresAt: trial.leaseExpiresAt?.toISOString() ?? null,
    progress: trial.progress,
    outputs: trial.outputs,
    error: trial.error,
    stopReason: trial.stopReason ?? null,
    resumes: trial.resumes ?? 0,
    earlyStop: trial.earlyStop ?? null,
    gpuSeconds: trial.gpuSeconds ?? null,
    effectiveConfig: trial.effectiveConfig ?? null,
    adapter: trial.adapter ?? null,
    minGpuMemoryMb: trial.minGpuMemoryMb ?? null,
    feasible: trial.feasible ?? null,
    createdAt: trial.createdAt.toISOString(),
    startedAt: trial.startedAt?.toISOString() ?? null,
    finishedAt: trial.finishedAt?.toISOString() ?? null,
    lastHeartbeatAt: trial.lastHeartbeatAt?.toISOString() ?? null,
    ...(metrics === undefined ? {} : { metrics }),
  };
}
