import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { type Caller, CurrentCaller, RequireScopes } from '../auth/auth.decorators';
import { StudyIdParams } from '../common/dto/id.params';
import { PaginationQueryDto } from '../common/dto/pagination.query.dto';
import { ProjectScope } from '../projects/project-scope';
import { CreateStudyDto } from './dto/create-study.dto';
import { ImportNomadStudyDto, ImportNomadStudyResponseDto } from './dto/import-nomad.dto';
import { ListStudiesQueryDto } from './dto/list-studies.query.dto';
import { NomadImportService } from './nomad/nomad-import.service';
import { RunnerDeclineListResponseDto, StudyListResponseDto, StudyResponseDto } from './dto/study-response.dto';
import { StudiesService } from './studies.service';

@ApiTags('studies')
@ApiBearerAuth()
@RequireScopes('user')
@Controller('v1/studies')
export class StudiesController {
  constructor(
    private readonly studies: StudiesService,
    private readonly nomadImport: NomadImportService,
    private readonly scope: ProjectScope,
  ) {}

  /** Create a study; it is active at once and runners may lease its trials. */
  @Post()
  async createStudy(@Body() body: CreateStudyDto, @CurrentCaller() caller: Caller): Promise<StudyResponseDto> {
    return this.studies.create(body, await this.scope.forNew(caller, body.projectId));
  }

  /** Create a study from a NOMAD 4 parameter file; keywords about running NOMAD locally are listed as ignored. */
  @Post('import/nomad')
  async importNomadStudy(
    @Body() body: ImportNomadStudyDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ImportNomadStudyResponseDto> {
    return this.nomadImport.importParameterFile(body, await this.scope.forNew(caller, body.projectId));
  }

  /** Studies, newest first. */
  @Get()
  async listStudies(
    @Query() query: ListStudiesQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<StudyListResponseDto> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const projectId = this.scope.listed(caller, query.projectId);
    const { items, total } = await this.studies.list(query.status, limit, offset, projectId);
    return { items, total, limit, offset };
  }

  @Get(':studyId')
  async getStudy(@Param() params: StudyIdParams, @CurrentCaller() caller: Caller): Promise<StudyResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.studies.get(params.studyId);
  }

  /**
   * Runners that declined the study (they cannot run it by their own settings: a path outside
   * their folders, no `trainingConfig` for a training runner) and will not lease it meanwhile.
   */
  @Get(':studyId/runner-declines')
  async listRunnerDeclines(
    @Param() params: StudyIdParams,
    @Query() query: PaginationQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<RunnerDeclineListResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.studies.runnerDeclines(params.studyId, query.limit ?? 50, query.offset ?? 0);
  }

  /** No new leases until resumed; running trials are told to stop at their next heartbeat. */
  @Post(':studyId/pause')
  @HttpCode(200)
  async pauseStudy(@Param() params: StudyIdParams, @CurrentCaller() caller: Caller): Promise<StudyResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.studies.pause(params.studyId);
  }

  @Post(':studyId/resume')
  @HttpCode(200)
  async resumeStudy(@Param() params: StudyIdParams, @CurrentCaller() caller: Caller): Promise<StudyResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.studies.resume(params.studyId);
  }

  /** End the study for good (stop reason `user_stopped`). */
  @Post(':studyId/stop')
  @HttpCode(200)
  async stopStudy(@Param() params: StudyIdParams, @CurrentCaller() caller: Caller): Promise<StudyResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.studies.stop(params.studyId);
  }

  /**
   * Delete a finished study (completed, failed or stopped) with its trials, their metrics and
   * leases, and its engine state; it frees room in the project's `maxStoredStudies`. An active or
   * paused study is refused with 409 STUDY_NOT_FINISHED (stop it first). Runners still holding a
   * lease of its trials get 404 at their next call.
   */
  @Delete(':studyId')
  @HttpCode(204)
  async deleteStudy(@Param() params: StudyIdParams, @CurrentCaller() caller: Caller): Promise<void> {
    await this.scope.study(caller, params.studyId);
    await this.studies.delete(params.studyId);
  }
}
