import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { OutputDefinitionDto } from '../../studies/dto/create-study.dto';
import { TrialResponseDto } from '../../trials/dto/trial-response.dto';
import { IntegerProperty } from '../../common/dto/is-integer';
import { CanonicalId } from '../../common/dto/canonical-id';

export class LeaseRequestDto {
  /** Only lease trials of this study (default: any active study). */
  @IsOptional()
  @CanonicalId()
  @IsUUID('all')
  studyId?: string;
}

export class LeaseResponseDto {
  trial: TrialResponseDto;
  /** The study's trainingConfig, as given at creation. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  trainingConfig: Record<string, unknown>;
  /** The outputs to report on completion. */
  outputs: OutputDefinitionDto[];
  leaseExpiresAt: string;
  /** Lease length; send a trial heartbeat well within it. */
  @IntegerProperty()
  leaseSeconds: number;
}
