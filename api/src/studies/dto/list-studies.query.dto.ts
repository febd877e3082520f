import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PaginationQueryDto } from '../../common/dto/pagination.query.dto';
import { STUDY_STATUSES, type StudyStatus } from '../study-status';
import { CanonicalId } from '../../common/dto/canonical-id';

export class ListStudiesQueryDto extends PaginationQueryDto {
  /** Only studies in this status. */
  @IsOptional()
  @IsIn(STUDY_STATUSES)
  status?: StudyStatus;

  /** Only this project's studies (an admin key's choice; a user key sees its own project only). */
  @IsOptional()
  @CanonicalId()
  @IsUUID('all')
  projectId?: string;
}
