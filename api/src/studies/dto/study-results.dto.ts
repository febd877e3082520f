import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches, Max, Min } from 'class-validator';
import { ALGORITHM_NAMES } from '../../optimizer-contract/algorithm';
import { TrialResponseDto } from '../../trials/dto/trial-response.dto';
import { IntegerProperty, QueryInteger } from '../../common/dto/is-integer';

export const HISTORY_FORMATS = ['json', 'csv', 'nomad'] as const;
export type HistoryFormat = (typeof HISTORY_FORMATS)[number];

/** Largest page of the JSON history; CSV and NOMAD exports stream the whole history instead. */
export const MAX_HISTORY_PAGE = 500;

export class HistoryQueryDto {
  /** `json` (default: one page), `csv` or `nomad` (NOMAD's history-file format): the whole history, streamed. */
  @IsOptional()
  @IsIn(HISTORY_FORMATS)
  format?: HistoryFormat;

  /** JSON only: page size (1–500, default 500). */
  @IsOptional()
  @QueryInteger()
  @Min(1)
  @Max(MAX_HISTORY_PAGE)
  limit?: number;

  /** JSON only: `nextCursor` of the previous page; omit for the first page. */
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,8}$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

export class HistoryResponseDto {
  /**
   * Finished trials (completed and failed) in the order the engine was told them (their evaluation
   * order): up to `limit`, and at most about 4 MiB of them (fewer when trials are large; `nextCursor` goes on).
   */
  items: TrialResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export class EngineStateResponseDto {
  @ApiProperty({ enum: ALGORITHM_NAMES })
  algorithm: string;
  /** MADS iteration number (null for random). */
  @ApiProperty({ type: 'integer', nullable: true })
  iteration: number | null;
  /** MADS frame size Δ per parameter, in engine space (null for random). */
  @ApiProperty({ type: [Number], nullable: true })
  frameSize: number[] | null;
  /** MADS mesh size δ per parameter, in engine space (null for random). */
  @ApiProperty({ type: [Number], nullable: true })
  meshSize: number[] | null;
  /** The algorithm's stop reason once it stopped (NOMAD's names). */
  @ApiProperty({ type: String, nullable: true })
  stopReason: string | null;
  /** Results the algorithm has been told. */
  @IntegerProperty()
  evaluationCount: number;
}
