import { applyDecorators } from '@nestjs/common';
import { ApiProperty, OmitType, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsObject, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { IsOmittable } from '../../common/dto/is-omittable';
import { STUDY_LIMITS } from '../study-limits';
import { CreateStudyDto, StudyBudgetDto } from './create-study.dto';
import { StudyResponseDto } from './study-response.dto';

/** The budget fields a NOMAD file does not give (MAX_BB_EVAL gives maxEvaluations). */
export class ImportBudgetDto extends OmitType(StudyBudgetDto, ['maxEvaluations'] as const) {}

/** A list of names (variables, outputs), each at most a field name long (STUDY_LIMITS.fieldNameLength). */
function NameList(maxItems: number): PropertyDecorator {
  // The swagger plugin copies only literal decorator arguments: maxItems is stated here, from the caller's constant.
  return applyDecorators(
    ApiProperty({
      required: false,
      type: 'array',
      items: { type: 'string', maxLength: STUDY_LIMITS.fieldNameLength },
      maxItems,
    }),
    IsOmittable(),
    IsArray(),
    ArrayMaxSize(maxItems),
    IsString({ each: true }),
    MaxLength(STUDY_LIMITS.fieldNameLength, { each: true }),
  );
}

/**
 * The fields a NOMAD import shares with POST /v1/studies (name, trainingConfig, projectId and the
 * runner requirements) are CreateStudyDto's own declarations, so both keep the same rules.
 */
export class ImportNomadStudyDto extends PickType(CreateStudyDto, [
  'name',
  'trainingConfig',
  'projectId',
  'requiredRunnerLabels',
  'requiredRunnerGpus',
  'requiredRunnerGpuMemoryMb',
] as const) {
  /** The text of a NOMAD 4 parameter file (DIMENSION, BB_INPUT_TYPE, X0, bounds, BB_OUTPUT_TYPE, MAX_BB_EVAL…). */
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  parameterFile: string;

  /** Names of the variables, in order (default x1, x2, …). */
  @NameList(STUDY_LIMITS.parameters)
  parameterNames?: string[];

  /** Names of the blackbox outputs, in BB_OUTPUT_TYPE order (default obj, pb1, eb1, extra1, …). */
  @NameList(STUDY_LIMITS.outputs)
  outputNames?: string[];

  @IsOmittable()
  @IsObject()
  @ValidateNested()
  @Type(() => ImportBudgetDto)
  budget?: ImportBudgetDto;
}

export class ImportNomadStudyResponseDto {
  study: StudyResponseDto;
  /** Keywords about running NOMAD locally (BB_EXE, NB_THREADS_*, HISTORY_FILE, DISPLAY_*…), accepted and not used. */
  ignoredKeywords: string[];
}
