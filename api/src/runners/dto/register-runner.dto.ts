import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

export class RegisterRunnerDto {
  /** e.g. the host name. */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1024)
  gpus?: number;

  /** Memory of one GPU, in MiB. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  gpuMemoryMb?: number | null;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  labels?: string[];
}
