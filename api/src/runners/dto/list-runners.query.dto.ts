import { IsOptional, IsUUID } from 'class-validator';
import { PaginationQueryDto } from '../../common/dto/pagination.query.dto';
import { CanonicalId } from '../../common/dto/canonical-id';

export class ListRunnersQueryDto extends PaginationQueryDto {
  /** Only this project's runners (an admin key's choice; a user key sees its own project only). */
  @IsOptional()
  @CanonicalId()
  @IsUUID('all')
  projectId?: string;
}
