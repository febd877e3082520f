import { IsOptional, IsUUID } from 'class-validator';
import { PaginationQueryDto } from '../../common/dto/pagination.query.dto';

export class ListRunnersQueryDto extends PaginationQueryDto {
  /** Only this project's runners (an admin key's choice; a user key sees its own project only). */
  @IsOptional()
  @IsUUID('all')
  projectId?: string;
}
