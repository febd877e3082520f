import { ApiProperty } from '@nestjs/swagger';
import { RUNNER_HEALTH_STATES, type Runner, type RunnerHealthState } from '../runner.entity';
import { IntegerProperty } from '../../common/dto/is-integer';

export class RunnerResponseDto {
  id: string;
  /** The project whose studies it leases. */
  projectId: string;
  name: string;
  @IntegerProperty()
  gpus: number;
  @IntegerProperty()
  gpuMemoryMb: number | null;
  labels: string[];
  /** Open leases it may hold at once (registered, or the default 16). */
  @IntegerProperty()
  maxConcurrentTrials: number;
  lastSeenAt: string;
  createdAt: string;
  /** Trials this runner holds a lease on now. */
  currentTrialIds: string[];
  /**
   * `healthy`; `unhealthy` after a runner failure (until it completes a trial); `quarantined`:
   * no leases (409 RUNNER_QUARANTINED) until cleared (POST /v1/runners/{runnerId}/clear-quarantine)
   * or registered again.
   */
  @ApiProperty({ enum: RUNNER_HEALTH_STATES })
  health: RunnerHealthState;
  /** Runner failures in a row (a completed trial resets it). */
  @IntegerProperty()
  failureStreak: number;
  /** Failed evaluations in a row (a completed trial resets it). */
  @IntegerProperty()
  evaluationFailureStreak: number;
  /** The last runner failure's error. */
  @ApiProperty({ type: String, nullable: true })
  lastFailure: string | null;
  @ApiProperty({ type: String, nullable: true })
  lastFailureAt: string | null;
  @ApiProperty({ type: String, nullable: true })
  quarantinedAt: string | null;
  /** Why it was quarantined (the streak and the last error). */
  @ApiProperty({ type: String, nullable: true })
  quarantineReason: string | null;
}

export class RegisteredRunnerResponseDto extends RunnerResponseDto {
  /** The runner token: shown in this response only; use it for every runner call. */
  token: string;
}

export class RunnerListResponseDto {
  /**
   * Up to `limit` runners, last seen first, and at most about 4 MiB of them: runners of many long
   * labels and long failures come fewer to a page, so the next page starts at `offset` plus the
   * items received.
   */
  items: RunnerResponseDto[];
  @IntegerProperty()
  total: number;
  @IntegerProperty()
  limit: number;
  @IntegerProperty()
  offset: number;
}

export function toRunnerResponse(runner: Runner, currentTrialIds: string[]): RunnerResponseDto {
  return {
    id: runner.id,
    projectId: runner.projectId,
    name: runner.name,
    gpus: runner.gpus,
    gpuMemoryMb: runner.gpuMemoryMb,
    labels: runner.labels,
    maxConcurrentTrials: runner.maxConcurrentTrials,
    lastSeenAt: runner.lastSeenAt.toISOString(),
    createdAt: runner.createdAt.toISOString(),
    currentTrialIds,
    health: runner.health,
    failureStreak: runner.failureStreak,
    evaluationFailureStreak: runner.evaluationFailureStreak,
    lastFailure: runner.lastFailure,
    lastFailureAt: runner.lastFailureAt?.toISOString() ?? null,
    quarantinedAt: runner.quarantinedAt?.toISOString() ?? null,
    quarantineReason: runner.quarantineReason,
  };
}
