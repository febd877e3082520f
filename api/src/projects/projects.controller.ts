import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { type Caller, CurrentCaller, RequireScopes } from '../auth/auth.decorators';
import { ProjectIdParams } from '../common/dto/id.params';
import { PaginationQueryDto } from '../common/dto/pagination.query.dto';
import {
  CreateProjectDto,
  ProjectListResponseDto,
  ProjectResponseDto,
  UpdateProjectQuotasDto,
} from './dto/project.dto';
import { ProjectScope } from './project-scope';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('v1/projects')
export class ProjectsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly scope: ProjectScope,
  ) {}

  /** Create a project (admin); give it keys with POST /v1/api-keys `{projectId}`. */
  @Post()
  @RequireScopes('admin')
  createProject(@Body() body: CreateProjectDto): Promise<ProjectResponseDto> {
    return this.projects.create(body);
  }

  /** Projects with their quotas and usage: every one for an admin key, its own for a user key. */
  @Get()
  @RequireScopes('user')
  async listProjects(
    @Query() query: PaginationQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ProjectListResponseDto> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const { items, total } = await this.projects.list(this.scope.listed(caller, undefined), limit, offset);
    return { items, total, limit, offset };
  }

  /** Change a project's quotas (admin): `null` removes one. */
  @Patch(':projectId')
  @RequireScopes('admin')
  updateProjectQuotas(
    @Param() params: ProjectIdParams,
    @Body() body: UpdateProjectQuotasDto,
  ): Promise<ProjectResponseDto> {
    return this.projects.updateQuotas(params.projectId, body);
  }
}
