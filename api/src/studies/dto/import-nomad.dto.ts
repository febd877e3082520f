import { ApiProperty, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  Validate,
  ValidateNested,
} from 'class-validator';
import { IsBoundedJsonObject } from '../../common/dto/parameter-value.validator';
import { StudyBudgetDto } from './create-study.dto';
import { StudyResponseDto } from './study-response.dto';

/** The budget fields a NOMAD file does not give (MAX_BB_EVAL gives maxEvaluations). */
export class ImportBudgetDto extends OmitType(StudyBudgetDto, ['maxEvaluations'] as const) {}

export class ImportNomadStudyDto {
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  /** The text of a NOMAD 4 parameter file (DIMENSION, BB_INPUT_TYPE, X0, bounds, BB_OUTPUT_TYPE, MAX_BB_EVAL…). */
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  parameterFile: string;

  /** Names of the variables, in order (default x1, x2, …). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  parameterNames?: string[];

  /** Names of the blackbox outputs, in BB_OUTPUT_TYPE order (default obj, pb1, eb1, extra1, …). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  outputNames?: string[];

  @IsOptional()
  @ValidateNested()
  @Type(() => ImportBudgetDto)
  budget?: ImportBudgetDto;

  @ApiProperty({ required: false, type: Object, additionalProperties: true })
  @IsOptional()
  @IsObject()
  @Validate(IsBoundedJsonObject)
  trainingConfig?: Record<string, unknown>;
}

export class ImportNomadStudyResponseDto {
  study: StudyResponseDto;
  /** Keywords about running NOMAD locally (BB_EXE, NB_THREADS_*, HISTORY_FILE, DISPLAY_*…), accepted and not used. */
  ignoredKeywords: string[];
}
