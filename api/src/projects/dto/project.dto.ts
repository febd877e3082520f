import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { Project } from '../project.entity';
import { IntegerProperty } from '../../common/dto/is-integer';
import { IsOmittable } from '../../common/dto/is-omittable';

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

/**
 * `maxRunners` or `maxStoredStudies` in a request: an integer from 1 to MAX_QUOTA, or omitted;
 * never null (the runner and study tables stay bounded).
 */
function BoundingQuotaProperty(): PropertyDecorator {
  return applyDecorators(
    IsOmittable(),
    IsInt(),
    Min(1),
    Max(MAX_QUOTA),
    ApiProperty({ type: 'integer', required: false, minimum: 1, maximum: MAX_QUOTA }),
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

  /**
   * Most registered runners (a registration beyond it first reclaims runners without a lease
   * unseen for 15 minutes, else is refused); omitted: 1000.
   */
  @BoundingQuotaProperty()
  maxRunners?: number;

  /**
   * Most stored studies of every status (creating one more is refused until a finished study is
   * deleted); omitted: 1000.
   */
  @BoundingQuotaProperty()
  maxStoredStudies?: number;
}

export class UpdateProjectQuotasDto {
  /** New quota on active studies; null removes it; omitted leaves it. */
  @QuotaProperty()
  maxActiveStudies?: number | null;

  /** New quota on running trials; null removes it; omitted leaves it. */
  @QuotaProperty()
  maxParallelTrials?: number | null;

  /** New quota on registered runners (not null); omitted leaves it. Runners above a lowered quota stay. */
  @BoundingQuotaProperty()
  maxRunners?: number;

  /** New quota on stored studies (not null); omitted leaves it. Studies above a lowered quota stay. */
  @BoundingQuotaProperty()
  maxStoredStudies?: number;
}

export class ProjectResponseDto {
  id: string;
  name: string;
  @ApiProperty({ type: 'integer', nullable: true })
  maxActiveStudies: number | null;
  @ApiProperty({ type: 'integer', nullable: true })
  maxParallelTrials: number | null;
  /** Most registered runners (default 1000). */
  @IntegerProperty()
  maxRunners: number;
  /** Most stored studies of every status (default 1000). */
  @IntegerProperty()
  maxStoredStudies: number;
  /** Studies with status `active` now. */
  @IntegerProperty()
  activeStudies: number;
  /** Trials running now over all its studies. */
  @IntegerProperty()
  runningTrials: number;
  /** Runners registered now. */
  @IntegerProperty()
  runners: number;
  /** Studies stored now, of every status. */
  @IntegerProperty()
  storedStudies: number;
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

export interface ProjectUsage {
  activeStudies: number;
  runningTrials: number;
  runners: number;
  storedStudies: number;
}

export function toProjectResponse(project: Project, usage: ProjectUsage): ProjectResponseDto {
  return {
    id: project.id,
    name: project.name,
    maxActiveStudies: project.maxActiveStudies,
    maxParallelTrials: project.maxParallelTrials,
    maxRunners: project.maxRunners,
    maxStoredStudies: project.maxStoredStudies,
    activeStudies: usage.activeStudies,
    runningTrials: usage.runningTrials,
    runners: usage.runners,
    storedStudies: usage.storedStudies,
    createdAt: project.createdAt.toISOString(),
  };
}
