import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  Validate,
} from 'class-validator';
import { PARAMETER_TYPES, type ParameterType, type ParameterValue } from '../../search-space/search-space';
import { IsParameterValue, IsParameterValueList } from '../../common/dto/parameter-value.validator';

const BOUND = 1e15;

export class ParameterDefinitionDto {
  /** Name the runner receives; letters, digits and _. */
  @IsString()
  @MaxLength(64)
  name: string;

  /** `real` (optionally log-scale), `integer`, `ordinal` (ordered list) or `categorical` (unordered). */
  @IsIn(PARAMETER_TYPES)
  type: ParameterType;

  /** Lower bound (real, integer). */
  @ApiPropertyOptional({ type: Number, minimum: -BOUND, maximum: BOUND, description: 'Lower bound (real, integer).' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-BOUND)
  @Max(BOUND)
  lower?: number;

  /** Upper bound (real, integer). */
  @ApiPropertyOptional({ type: Number, minimum: -BOUND, maximum: BOUND, description: 'Upper bound (real, integer).' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-BOUND)
  @Max(BOUND)
  upper?: number;

  /** Real only: search on log10 of the value (bounds must be positive). */
  @IsOptional()
  @IsBoolean()
  log?: boolean;

  /** Values are multiples of this step (NOMAD's GRANULARITY); on the log10 scale for log reals. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(BOUND)
  granularity?: number;

  /** Ordinal / categorical: the allowed values (numbers or strings). */
  @ApiProperty({
    required: false,
    type: 'array',
    items: { oneOf: [{ type: 'number' }, { type: 'string', maxLength: 200 }] },
    maxItems: 1000,
  })
  @IsOptional()
  @ArrayMaxSize(1000)
  @Validate(IsParameterValueList)
  values?: ParameterValue[];

  /** A constant value (NOMAD's FIXED_VARIABLE). */
  @ApiProperty({ required: false, oneOf: [{ type: 'number' }, { type: 'string', maxLength: 200 }] })
  @IsOptional()
  @Validate(IsParameterValue)
  fixed?: ParameterValue;
}
