import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  ValidateNested,
} from 'class-validator';
import { IsOutputValues } from '../../common/dto/parameter-value.validator';

export class MetricPointDto {
  /** e.g. `eval_loss`. */
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name: string;

  /** Training step. */
  @IsInt()
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

  /** Intermediate metrics since the last heartbeat (re-sending a point overwrites it). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => MetricPointDto)
  metrics?: MetricPointDto[];
}

export class TrialHeartbeatResponseDto {
  /** True when the runner should stop this trial (study paused or stopped). */
  shouldStop: boolean;
  /** Why: `study_paused`, `study_stopped`, `study_completed`. */
  @ApiProperty({ type: String, nullable: true })
  reason: string | null;
  leaseExpiresAt: string | null;
}

export class CompleteTrialDto {
  /** Output values by name: every objective and constraint of the study; extras optional. */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } })
  @Validate(IsOutputValues)
  outputs: Record<string, number>;
}

export class FailTrialDto {
  /** What went wrong, for people (e.g. "CUDA out of memory"). */
  @IsString()
  @MinLength(1)
  @MaxLength(10_000)
  error: string;

  /** True for a transient failure (node lost, preempted): the trial is retried while attempts remain. Default false: a failed evaluation (NOMAD's EVAL_FAILED), never re-evaluated. */
  @IsOptional()
  @IsBoolean()
  retryable?: boolean;
}
