import { ApiProperty } from '@nestjs/swagger';
import type { UserPoint } from '../../search-space/search-space';
import { TRIAL_ORIGINS, TRIAL_STATUSES, type TrialOrigin, type TrialStatus } from '../trial-status';

export class TrialMetricDto {
  name: string;
  step: number;
  value: number;
}

export class TrialResponseDto {
  id: string;
  studyId: string;
  /** 1, 2, 3… within the study. */
  number: number;
  @ApiProperty({ enum: TRIAL_STATUSES })
  status: TrialStatus;
  /** `x0`, `search`, `poll`, `random` (engine), `user` (enqueued), `import` (NOMAD cache). */
  @ApiProperty({ enum: TRIAL_ORIGINS })
  origin: TrialOrigin;
  /** Values for the runner, derived and fixed parameters included. */
  @ApiProperty({ type: 'object', additionalProperties: { oneOf: [{ type: 'number' }, { type: 'string' }] } })
  parameters: UserPoint;
  /** The engine's point (ordinal index, log10 of log-scale reals…). */
  point: number[];
  /** The lease number: 1, then + 1 each time the trial goes back to pending (lost, released, runner failure). */
  attempt: number;
  /** Leases that ended in a runner failure (`fail` with `kind: "runner"`): they use neither an attempt nor the budget. */
  runnerFailures: number;
  runnerId: string | null;
  leaseExpiresAt: string | null;
  progress: number | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, nullable: true })
  outputs: Record<string, number> | null;
  error: string | null;
  /**
   * The engine's reading of a completed trial, stored when its result is told: true when every
   * constraint is satisfied (NOMAD's rule: h below 1e-13), false otherwise; null for failed,
   * unfinished or not yet told trials.
   */
  @ApiProperty({ type: Boolean, nullable: true })
  feasible: boolean | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  lastHeartbeatAt: string | null;
  /** Intermediate metrics (only on GET /v1/trials/{trialId}; at most 10,000 points over 100 names a trial). */
  metrics?: TrialMetricDto[];
}

export class TrialListResponseDto {
  items: TrialResponseDto[];
  total: number;
  limit: number;
  offset: number;
}
