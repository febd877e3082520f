import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  Matches,
  MinLength,
  Validate,
  ValidateNested,
} from 'class-validator';
import { IsOmittable } from '../../common/dto/is-omittable';
import { MAX_DECLINE_REASON_LENGTH } from '../../runners/runner-study-decline.entity';
import { IsBoundedJsonObject, IsOutputValues } from '../../common/dto/parameter-value.validator';
import { IntegerProperty, IsInteger } from '../../common/dto/is-integer';

/** Metric points one trial keeps (runner-controlled data: the reads of a trial stay bounded). */
export const MAX_METRIC_POINTS_PER_TRIAL = 10_000;
/** Distinct metric names one trial keeps. */
export const MAX_METRIC_NAMES_PER_TRIAL = 100;
/**
 * Who a failure is blamed on: the evaluated point, the machine that tried to evaluate it, or the
 * machine's size (out of GPU memory: a runner with more memory may fit the point).
 */
export const FAILURE_KINDS = ['evaluation', 'runner', 'resource'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A year of 100,000 GPUs: far beyond any trial, small enough to sum exactly in a double. */
export const MAX_GPU_SECONDS = 3.2e12;

/**
 * A report's optional `gpuSeconds` (GPUs × wall-clock seconds of the training child for this
 * attempt, cumulative): the same rule on every report that carries it, so that no way of ending an
 * attempt (complete, fail, decline, release) loses the GPU time since the last heartbeat.
 */
function GpuSecondsUsed(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ required: false, type: Number, minimum: 0, maximum: MAX_GPU_SECONDS }),
    IsOptional(),
    IsNumber({ allowNaN: false, allowInfinity: false }),
    Min(0),
    Max(MAX_GPU_SECONDS),
  );
}

/** Bytes of a result's effective configuration (hashes, GPU, precision, versions: a few hundred in practice). */
export const MAX_EFFECTIVE_CONFIG_BYTES = 16 * 1024;
/** Characters of an adapter's location (a path or URL). */
export const MAX_ADAPTER_LOCATION = 2000;

/** Where the trained adapter of a completed trial lies. */
export class TrialAdapterDto {
  /** A path on the runner's disk or a shared file system, or an object store URL. */
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_ADAPTER_LOCATION)
  location: string;

  /** The adapter's size in bytes. */
  @IsOptional()
  @IsInteger()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  sizeBytes?: number;
}

export class MetricPointDto {
  /** e.g. `eval_loss`. */
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name: string;

  /** Training step. */
  @IsInteger()
  @Min(0)
  @Max(2_000_000_000)
  step: number;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  value: number;
}

export class TrialHeartbeatDto {
  /** Share of the trial done, 0–1. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  progress?: number;

  /**
   * Intermediate metrics since the last heartbeat (re-sending a point overwrites it). A trial
   * keeps at most 10,000 points over 100 names; new points beyond are dropped and counted in
   * the reply's `metricsDropped`.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => MetricPointDto)
  metrics?: MetricPointDto[];

  /**
   * GPU-seconds used by this attempt so far: GPUs × wall-clock seconds of the training child,
   * cumulative (the latest value is kept and added to the trial's earlier attempts; the study sums
   * trials in `gpuHoursUsed`).
   */
  @GpuSecondsUsed()
  gpuSeconds?: number;
}

export class TrialHeartbeatResponseDto {
  /**
   * True when the runner should stop this trial: the study is paused or over, or the trial was
   * stopped early (then it is `stopped`; do not complete or fail it, that gets 409).
   */
  shouldStop: boolean;
  /**
   * Why: `early_stopped` (its curve cannot beat what the study needs: the trial is over and counted
   * as an unsuccessful evaluation), `study_paused`, `study_stopped`, `study_completed`, `study_failed`.
   */
  @ApiProperty({ type: String, nullable: true })
  reason: string | null;
  leaseExpiresAt: string | null;
  /** Points of this heartbeat not stored because the trial holds its maximum of metric points or names. */
  @IntegerProperty()
  metricsDropped: number;
}

export class CompleteTrialDto {
  /** Output values by name: every objective and constraint of the study; extras optional. */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } })
  @Validate(IsOutputValues)
  outputs: Record<string, number>;

  /**
   * GPU-seconds used by this attempt in all: GPUs × wall-clock seconds of the training child
   * (added to the trial's earlier attempts; the study sums trials in `gpuHoursUsed`).
   */
  @GpuSecondsUsed()
  gpuSeconds?: number;

  /**
   * The configuration the runner actually trained with: the regime's hash, GPU count and type,
   * precision, library versions… Opaque JSON of at most 16 KiB, stored on the trial.
   */
  @ApiProperty({ required: false, type: Object, additionalProperties: true })
  @IsOmittable()
  @IsObject()
  @Validate(IsBoundedJsonObject, [MAX_EFFECTIVE_CONFIG_BYTES])
  effectiveConfig?: Record<string, unknown>;

  /** Where the trained adapter lies (kept on the runner's disk, a shared path or an object store URL). */
  @IsOmittable()
  @IsObject()
  @ValidateNested()
  @Type(() => TrialAdapterDto)
  adapter?: TrialAdapterDto;
}

/**
 * One line of printable text that is not only spaces: no control, format, private-use or
 * unassigned characters (a terminal escape, a NUL, a bidirectional override).
 */
const PRINTABLE_LINE = /^(?=.*\S)[^\p{C}]+$/u;

export class DeclineTrialDto {
  /**
   * Why this runner cannot run the study, for people (e.g. "trainData: a local path this runner
   * does not allow"): shown with the study's declines. One line of printable text, at most
   * MAX_DECLINE_REASON_LENGTH characters.
   */
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_DECLINE_REASON_LENGTH)
  @Matches(PRINTABLE_LINE, {
    message: 'reason must be one line of printable text (no control or format characters), not only spaces',
  })
  reason: string;

  /**
   * GPU-seconds used by this attempt in all, when the runner found what it lacks only after the
   * training child had started (e.g. while loading the model): kept like a failure's, added to the
   * trial's earlier attempts (the study sums trials in `gpuHoursUsed`).
   */
  @GpuSecondsUsed()
  gpuSeconds?: number;
}

/** The optional body of a release: what the attempt used until it was given back. */
export class ReleaseTrialDto {
  /**
   * GPU-seconds used by this attempt in all, up to the release (a runner shutting down, a study
   * paused): added to the trial's earlier attempts, so the time since the last heartbeat is not lost.
   */
  @GpuSecondsUsed()
  gpuSeconds?: number;
}

export class FailTrialDto {
  /** What went wrong, for people (e.g. "CUDA out of memory"). */
  @IsString()
  @MinLength(1)
  @MaxLength(10_000)
  error: string;

  /**
   * Whose fault. `evaluation` (default): the point is bad (NaN loss, diverged): a failed
   * evaluation told to the engine as NOMAD does, counted in the budget.
   * `runner`: this machine cannot run trials (data or model path missing, import or CUDA error,
   * disk full): the trial goes back to pending, budget and attempts untouched (`runnerFailures` + 1),
   * and the runner is marked unhealthy; `MESHTUNE_QUARANTINE_AFTER_FAILURES` of them in a row
   * quarantine it.
   * `resource`: out of GPU memory (on any rank). The trial goes back to pending, budget and
   * attempts untouched, the runner's health untouched, and from then on only runners with more
   * memory per GPU than this one lease it (the trial's `minGpuMemoryMb`). When no live, not
   * quarantined runner that may lease the study has more, it is a failed evaluation (counted, told)
   * whose error says it fits no runner. From a runner that registered no `gpuMemoryMb`, it is a
   * retryable `evaluation` failure.
   */
  @IsOptional()
  @ApiProperty({ enum: FAILURE_KINDS, required: false })
  @IsIn(FAILURE_KINDS)
  kind?: FailureKind;

  /** With kind `evaluation`: true for a transient failure of this run (node lost, preempted): the trial is retried while attempts remain (`maxAttempts`). Default false: a failed evaluation (NOMAD's EVAL_FAILED), never re-evaluated. Ignored with kinds `runner` and `resource` (they never use an attempt). */
  @IsOptional()
  @IsBoolean()
  retryable?: boolean;

  /**
   * GPU-seconds used by this attempt in all: GPUs × wall-clock seconds of the training child
   * (added to the trial's earlier attempts; the study sums trials in `gpuHoursUsed`).
   */
  @GpuSecondsUsed()
  gpuSeconds?: number;
}
