import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsBoolean, IsIn, IsNumber, IsString, Max, MaxLength, Min, Validate } from 'class-validator';
import { PARAMETER_TYPES, type ParameterType, type ParameterValue } from '../../search-space/search-space';
import { IsOmittable } from '../../common/dto/is-omittable';
import { IsParameterValue, IsParameterValueList } from '../../common/dto/parameter-value.validator';
import { STUDY_LIMITS } from '../study-limits';

const BOUND = 1e15;

export class ParameterDefinitionDto {
  /** Name the runner receives; letters, digits and _. */
  @IsString()
  @MaxLength(STUDY_LIMITS.fieldNameLength)
  name: string;

  /** `real` (optionally log-scale), `integer`, `ordinal` (ordered list) or `categorical` (unordered). */
  @IsIn(PARAMETER_TYPES)
  type: ParameterType;

  /** Lower bound (real, integer). */
  @ApiPropertyOptional({ type: Number, minimum: -BOUND, maximum: BOUND, description: 'Lower bound (real, integer).' })
  @IsOmittable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-BOUND)
  @Max(BOUND)
  lower?: number;

  /** Upper bound (real, integer). */
  @ApiPropertyOptional({ type: Number, minimum: -BOUND, maximum: BOUND, description: 'Upper bound (real, integer).' })
  @IsOmittable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-BOUND)
  @Max(BOUND)
  upper?: number;

  /** Real only: search on log10 of the value (bounds must be positive). */
  @IsOmittable()
  @IsBoolean()
  log?: boolean;

  /** Values are multiples of this step (NOMAD's GRANULARITY); on the log10 scale for log reals. */
  @IsOmittable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(BOUND)
  granularity?: number;

  /** Ordinal / categorical: the allowed values (numbers or strings). */
  @ApiProperty({
    required: false,
    type: 'array',
    items: { oneOf: [{ type: 'number' }, { type: 'string', maxLength: STUDY_LIMITS.valueLength }] },
    maxItems: STUDY_LIMITS.values,
  })
  @IsOmittable()
  @ArrayMaxSize(STUDY_LIMITS.values)
  @Validate(IsParameterValueList)
  values?: ParameterValue[];

  /** A constant value (NOMAD's FIXED_VARIABLE). */
  @ApiProperty({
    required: false,
    oneOf: [{ type: 'number' }, { type: 'string', maxLength: STUDY_LIMITS.valueLength }],
  })
  @IsOmittable()
  @Validate(IsParameterValue)
  fixed?: ParameterValue;
}
