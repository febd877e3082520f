import { IsIn, IsOptional } from 'class-validator';
import { PaginationQueryDto } from '../../common/dto/pagination.query.dto';
import { TRIAL_STATUSES, type TrialStatus } from '../trial-status';

export class ListTrialsQueryDto extends PaginationQueryDto {
  /** Only trials in this status. */
  @IsOptional()
  @IsIn(TRIAL_STATUSES)
  status?: TrialStatus;
}
