import { ArrayMaxSize, IsArray, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOmittable } from '../../common/dto/is-omittable';
import { IsInteger } from '../../common/dto/is-integer';
import { MAX_RUNNER_CONCURRENT_TRIALS } from '../runner.entity';
import { CanonicalId } from '../../common/dto/canonical-id';

/** GPUs one runner may register (and a study may require). */
export const MAX_RUNNER_GPUS = 1024;
/** Memory of one GPU, in MiB, a runner may register (and a study may require): ~10 TB, beyond any GPU. */
export const MAX_GPU_MEMORY_MB = 10_000_000;

export class RegisterRunnerDto {
  /** e.g. the host name. */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @IsOptional()
  @IsInteger()
  @Min(0)
  @Max(MAX_RUNNER_GPUS)
  gpus?: number;

  /** Memory of one GPU, in MiB. */
  @IsOptional()
  @IsInteger()
  @Min(0)
  @Max(MAX_GPU_MEMORY_MB)
  gpuMemoryMb?: number | null;

  /**
   * Trials it runs at once (its slots): it holds at most this many leases, a lease beyond them is
   * 409 RUNNER_LEASE_LIMIT. Default 16 (DEFAULT_RUNNER_MAX_CONCURRENT_TRIALS); the Python runner
   * sends 1, the SDK's worker its `concurrency`.
   */
  @IsOmittable()
  @IsInteger()
  @Min(1)
  @Max(MAX_RUNNER_CONCURRENT_TRIALS)
  maxConcurrentTrials?: number;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  labels?: string[];

  /**
   * The runner leases only its project's studies, and only those whose `requiredRunnerLabels`
   * are all among `labels`. A runner key registers in its own project; only an admin key may
   * name one (default: the default project).
   */
  @IsOmittable()
  @CanonicalId()
  @IsUUID('all')
  projectId?: string;
}
