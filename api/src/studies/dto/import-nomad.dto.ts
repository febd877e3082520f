import { ApiProperty, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsObject,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  Validate,
  ValidateNested,
} from 'class-validator';
import { IsOmittable } from '../../common/dto/is-omittable';
import { IsBoundedJsonObject } from '../../common/dto/parameter-value.validator';
import { STUDY_LIMITS } from '../study-limits';
import { StudyBudgetDto } from './create-study.dto';
import { StudyResponseDto } from './study-response.dto';

/** The budget fields a NOMAD file does not give (MAX_BB_EVAL gives maxEvaluations). */
export class ImportBudgetDto extends OmitType(StudyBudgetDto, ['maxEvaluations'] as const) {}

export class ImportNomadStudyDto {
  @IsString()
  @MinLength(1)
  @MaxLength(STUDY_LIMITS.nameLength)
  name: string;

  /** The text of a NOMAD 4 parameter file (DIMENSION, BB_INPUT_TYPE, X0, bounds, BB_OUTPUT_TYPE, MAX_BB_EVAL…). */
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  parameterFile: string;

  /** Names of the variables, in order (default x1, x2, …). */
  // The swagger plugin copies only literal decorator arguments: maxItems is stated here, from the same constant.
  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'string', maxLength: STUDY_LIMITS.fieldNameLength },
    maxItems: STUDY_LIMITS.parameters,
  })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(STUDY_LIMITS.parameters)
  @IsString({ each: true })
  @MaxLength(STUDY_LIMITS.fieldNameLength, { each: true })
  parameterNames?: string[];

  /** Names of the blackbox outputs, in BB_OUTPUT_TYPE order (default obj, pb1, eb1, extra1, …). */
  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'string', maxLength: STUDY_LIMITS.fieldNameLength },
    maxItems: STUDY_LIMITS.outputs,
  })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(STUDY_LIMITS.outputs)
  @IsString({ each: true })
  @MaxLength(STUDY_LIMITS.fieldNameLength, { each: true })
  outputNames?: string[];

  @IsOmittable()
  @IsObject()
  @ValidateNested()
  @Type(() => ImportBudgetDto)
  budget?: ImportBudgetDto;

  @ApiProperty({ required: false, type: Object, additionalProperties: true })
  @IsOmittable()
  @IsObject()
  @Validate(IsBoundedJsonObject)
  trainingConfig?: Record<string, unknown>;

  /** As in POST /v1/studies: an admin key may name the project. */
  @IsOmittable()
  @IsUUID('all')
  projectId?: string;

  /** As in POST /v1/studies: labels a runner needs to lease its trials. */
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(100, { each: true })
  requiredRunnerLabels?: string[];
}

export class ImportNomadStudyResponseDto {
  study: StudyResponseDto;
  /** Keywords about running NOMAD locally (BB_EXE, NB_THREADS_*, HISTORY_FILE, DISPLAY_*…), accepted and not used. */
  ignoredKeywords: string[];
}
