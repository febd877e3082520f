import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/auth.decorators';
import { StudyIdParams } from '../common/dto/id.params';
import { CreateStudyDto } from './dto/create-study.dto';
import { ImportNomadStudyDto, ImportNomadStudyResponseDto } from './dto/import-nomad.dto';
import { ListStudiesQueryDto } from './dto/list-studies.query.dto';
import { NomadImportService } from './nomad/nomad-import.service';
import { StudyListResponseDto, StudyResponseDto } from './dto/study-response.dto';
import { StudiesService } from './studies.service';

@ApiTags('studies')
@ApiBearerAuth()
@RequireScopes('user')
@Controller('v1/studies')
export class StudiesController {
  constructor(
    private readonly studies: StudiesService,
    private readonly nomadImport: NomadImportService,
  ) {}

  /** Create a study; it is active at once and runners may lease its trials. */
  @Post()
  createStudy(@Body() body: CreateStudyDto): Promise<StudyResponseDto> {
    return this.studies.create(body);
  }

  /** Create a study from a NOMAD 4 parameter file; keywords about running NOMAD locally are listed as ignored. */
  @Post('import/nomad')
  importNomadStudy(@Body() body: ImportNomadStudyDto): Promise<ImportNomadStudyResponseDto> {
    return this.nomadImport.importParameterFile(body);
  }

  /** Studies, newest first. */
  @Get()
  async listStudies(@Query() query: ListStudiesQueryDto): Promise<StudyListResponseDto> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const { items, total } = await this.studies.list(query.status, limit, offset);
    return { items, total, limit, offset };
  }

  @Get(':studyId')
  getStudy(@Param() params: StudyIdParams): Promise<StudyResponseDto> {
    return this.studies.get(params.studyId);
  }

  /** No new leases until resumed; running trials are told to stop at their next heartbeat. */
  @Post(':studyId/pause')
  @HttpCode(200)
  pauseStudy(@Param() params: StudyIdParams): Promise<StudyResponseDto> {
    return this.studies.pause(params.studyId);
  }

  @Post(':studyId/resume')
  @HttpCode(200)
  resumeStudy(@Param() params: StudyIdParams): Promise<StudyResponseDto> {
    return this.studies.resume(params.studyId);
  }

  /** End the study for good (stop reason `user_stopped`). */
  @Post(':studyId/stop')
  @HttpCode(200)
  stopStudy(@Param() params: StudyIdParams): Promise<StudyResponseDto> {
    return this.studies.stop(params.studyId);
  }
}
