import type { Runner } from '../runner.entity';

export class RunnerResponseDto {
  id: string;
  name: string;
  gpus: number;
  gpuMemoryMb: number | null;
  labels: string[];
  lastSeenAt: string;
  createdAt: string;
  /** Trials this runner holds a lease on now. */
  currentTrialIds: string[];
}

export class RegisteredRunnerResponseDto extends RunnerResponseDto {
  /** The runner token: shown in this response only; use it for every runner call. */
  token: string;
}

export class RunnerListResponseDto {
  items: RunnerResponseDto[];
  total: number;
  limit: number;
  offset: number;
}

export function toRunnerResponse(runner: Runner, currentTrialIds: string[]): RunnerResponseDto {
  return {
    id: runner.id,
    name: runner.name,
    gpus: runner.gpus,
    gpuMemoryMb: runner.gpuMemoryMb,
    labels: runner.labels,
    lastSeenAt: runner.lastSeenAt.toISOString(),
    createdAt: runner.createdAt.toISOString(),
    currentTrialIds,
  };
}
