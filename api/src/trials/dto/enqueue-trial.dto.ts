import { ApiProperty } from '@nestjs/swagger';
import { Validate } from 'class-validator';
import { IsUserPoint } from '../../common/dto/parameter-value.validator';
import type { UserPoint } from '../../search-space/search-space';

export class EnqueueTrialDto {
  /** A value for every free parameter, in user values; leased before any engine suggestion. */
  @ApiProperty({ type: 'object', additionalProperties: { oneOf: [{ type: 'number' }, { type: 'string' }] } })
  @Validate(IsUserPoint)
  parameters: UserPoint;
}
