import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { TrialResponseDto } from '../../trials/dto/trial-response.dto';

export const HISTORY_FORMATS = ['json', 'csv', 'nomad'] as const;
export type HistoryFormat = (typeof HISTORY_FORMATS)[number];

export class HistoryQueryDto {
  /** `json` (default), `csv`, or `nomad` (NOMAD's history-file format). */
  @IsOptional()
  @IsIn(HISTORY_FORMATS)
  format?: HistoryFormat;
}

export class HistoryResponseDto {
  /** Finished trials (completed and failed) in the order they finished. */
  items: TrialResponseDto[];
}

export class EngineStateResponseDto {
  @ApiProperty({ enum: ['mads', 'random'] })
  algorithm: string;
  /** MADS iteration number (null for random). */
  @ApiProperty({ type: Number, nullable: true })
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
  evaluationCount: number;
}
