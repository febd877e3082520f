import { IsOptional, Max, Min } from 'class-validator';
import { QueryInteger } from './is-integer';

export class PaginationQueryDto {
  /** Page size (1–500, default 50). */
  @IsOptional()
  @QueryInteger()
  @Min(1)
  @Max(500)
  limit?: number;

  /** Items to skip (default 0). */
  @IsOptional()
  @QueryInteger()
  @Min(0)
  @Max(10_000_000)
  offset?: number;
}
