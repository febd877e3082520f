import { ApiProperty } from '@nestjs/swagger';
import type { UserPoint } from '../../search-space/search-space';
import {
  TRIAL_ORIGINS,
  TRIAL_STATUSES,
  TRIAL_STOP_REASONS,
  type EarlyStopRecord,
  type TrialAdapter,
  type TrialOrigin,
  type TrialStatus,
  type TrialStopReason,
} from '../trial-status';
import { IntegerProperty } from '../../common/dto/is-integer';

export class TrialMetricDto {
  name: string;
  @IntegerProperty()
  step: number;
  value: number;
}

/** The early-stopping decision that stopped a trial (docs/algorithm.md, "Early stopping"). */
export class EarlyStopDto implements EarlyStopRecord {
  /** The policy's rule that stopped it: `cannot_beat_threshold` (curve) or `worse_than_median` (median). */
  rule: string;
  /** step / totalSteps of the last observation. */
  progress: number;
  /** Last observed value of the objective's curve, minimised (a maximised objective negated). */
  @ApiProperty({ type: Number, nullable: true })
  lastValue: number | null;
  /** The curve policy's extrapolation of the final value, stored for inspection only (never told to the engine). */
  @ApiProperty({ type: Number, nullable: true })
  extrapolatedFinal: number | null;
  /** The optimistic final value at the policy's confidence. */
  @ApiProperty({ type: Number, nullable: true })
  lowerBound: number | null;
  /** What the trial had to come in strictly below (the incumbent's f). */
  @ApiProperty({ type: Number, nullable: true })
  threshold: number | null;
  /** The median policy's comparison value. */
  @ApiProperty({ type: Number, nullable: true })
  median: number | null;
  /** `power_law`, `exponential` or `flat`: the curve model of the extrapolation. */
  @ApiProperty({ type: String, nullable: true })
  model: string | null;
  /** Curves that calibrated the decision: completed trials', and early-stopped trials' as runs ending at their stop. */
  @IntegerProperty()
  calibrationSize: number;
}

/** Where a completed trial's trained adapter lies. */
export class TrialAdapterResponseDto implements TrialAdapter {
  /** A path on the runner's disk or a shared file system, or an object store URL. */
  location: string;
  /** The adapter's size in bytes; null when the runner did not report it. */
  @ApiProperty({ type: 'integer', nullable: true })
  sizeBytes: number | null;
}

export class TrialResponseDto {
  id: string;
  studyId: string;
  /** 1, 2, 3… within the study. */
  @IntegerProperty()
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
  @IntegerProperty()
  attempt: number;
  /** Leases that ended in a runner failure (`fail` with `kind: "runner"`): they use neither an attempt nor the budget. */
  @IntegerProperty()
  runnerFailures: number;
  runnerId: string | null;
  leaseExpiresAt: string | null;
  progress: number | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, nullable: true })
  outputs: Record<string, number> | null;
  error: string | null;
  /**
   * Why a `stopped` or `paused` trial stopped: `early_stopped` when its curve could not beat what
   * the engine needed (told to the engine as an unsuccessful evaluation, counted in the budget);
   * null for a trial stopped because its study ended.
   */
  @ApiProperty({ enum: TRIAL_STOP_REASONS, nullable: true, type: String })
  stopReason: TrialStopReason | null;
  /**
   * Times the trial was resumed after a pause (early stopping with `resume`): a resumed trial keeps
   * its evaluation (the budget counted it at the pause), its result is told again, and its next
   * stop is final. 0 for every other trial.
   */
  @IntegerProperty()
  resumes: number;
  /** The decision that stopped it early (null unless `stopReason` is `early_stopped`); a resumed trial keeps its pause's. */
  @ApiProperty({ type: EarlyStopDto, nullable: true })
  earlyStop: EarlyStopDto | null;
  /** GPU-seconds of all the trial's attempts (each attempt's latest figure from its runner, summed), null when no runner reported any. */
  @ApiProperty({ type: Number, nullable: true })
  gpuSeconds: number | null;
  /**
   * The configuration the runner trained with, as it reported it on `complete` (regime hash, GPU
   * count and type, precision, library versions); null when it reported none.
   */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  effectiveConfig: Record<string, unknown> | null;
  /** Where the trained adapter lies, as the runner reported it on `complete`; null when it reported none. */
  @ApiProperty({ type: TrialAdapterResponseDto, nullable: true })
  adapter: TrialAdapterResponseDto | null;
  /**
   * Memory of each GPU (MiB) a runner needs to lease this trial: set when it ran out of GPU memory
   * (`fail` with kind `resource`), one more than the largest GPU it ran out on; null otherwise.
   */
  @ApiProperty({ type: 'integer', nullable: true })
  minGpuMemoryMb: number | null;
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
  /**
   * Up to `limit` trials in number order, and at most about 4 MiB of them: a page of large trials
   * (hundreds of parameters, long errors) holds fewer, so the next page starts at `offset` plus the
   * items received, not at `offset + limit`.
   */
  items: TrialResponseDto[];
  @IntegerProperty()
  total: number;
  @IntegerProperty()
  limit: number;
  @IntegerProperty()
  offset: number;
}
