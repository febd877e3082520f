import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { Project } from '../project.entity';
import { IntegerProperty } from '../../common/dto/is-integer';

const MAX_QUOTA = 1_000_000;

/** A project quota in a request: an integer from 1 to MAX_QUOTA, null for no quota, or omitted. */
function QuotaProperty(): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    IsInt(),
    Min(1),
    Max(MAX_QUOTA),
    // The swagger plugin does not see decorators applied here: the bounds are stated for the document too.
    ApiProperty({ type: 'integer', nullable: true, required: false, minimum: 1, maximum: MAX_QUOTA }),
  );
}

export class CreateProjectDto {
  /** Unique, e.g. the team's name: letters, digits, `.`, `_`, `-`. */
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: '$property may hold letters, digits, ".", "_" and "-" only' })
  name: string;

  /** Most studies with status `active` at once (creating or resuming one more is refused); omitted: no quota. */
  @QuotaProperty()
  maxActiveStudies?: number | null;

  /** Most running trials over all its studies at once (leases wait beyond it); omitted: no quota. */
  @QuotaProperty()
  maxParallelTrials?: number | null;
}

export class UpdateProjectQuotasDto {
  /** New quota on active studies; null removes it; omitted leaves it. */
  @QuotaProperty()
  maxActiveStudies?: number | null;

  /** New quota on running trials; null removes it; omitted leaves it. */
  @QuotaProperty()
  maxParallelTrials?: number | null;
}

export class ProjectResponseDto {
  id: string;
  name: string;
  @ApiProperty({ type: 'integer', nullable: true })
  maxActiveStudies: number | null;
  @ApiProperty({ type: 'integer', nullable: true })
  maxParallelTrials: number | null;
  /** Studies with status `active` now. */
  @IntegerProperty()
  activeStudies: number;
  /** Trials running now over all its studies. */
  @IntegerProperty()
  runningTrials: number;
  createdAt: string;
}

export class ProjectListResponseDto {
  items: ProjectResponseDto[];
  @IntegerProperty()
  total: number;
  @IntegerProperty()
  limit: number;
  @IntegerProperty()
  offset: number;
}

export function toProjectResponse(
  project: Project,
  usage: { activeStudies: number; runningTrials: number },
): ProjectResponseDto {
  return {
    id: project.id,
    name: project.name,
    maxActiveStudies: project.maxActiveStudies,
    maxParallelTrials: project.maxParallelTrials,
    activeStudies: usage.activeStudies,
    runningTrials: usage.runningTrials,
    createdAt: project.createdAt.toISOString(),
  };
}
