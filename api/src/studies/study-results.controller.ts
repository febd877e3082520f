import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes } from '../auth/auth.decorators';
import { StudyIdParams } from '../common/dto/id.params';
import { TrialResponseDto } from '../trials/dto/trial-response.dto';
import { EngineStateResponseDto, HistoryQueryDto, HistoryResponseDto } from './dto/study-results.dto';
import { historyCsv, historyNomad } from './history-formats';
import { StudiesService } from './studies.service';
import { StudyResultsService } from './study-results.service';

@ApiTags('studies')
@ApiBearerAuth()
@RequireScopes('user')
@Controller('v1/studies/:studyId')
export class StudyResultsController {
  constructor(
    private readonly results: StudyResultsService,
    private readonly studies: StudiesService,
  ) {}

  /** The best completed trial (feasible first, as the progressive barrier defines it); 404 before any result. */
  @Get('best')
  getBestTrial(@Param() params: StudyIdParams): Promise<TrialResponseDto> {
    return this.results.best(params.studyId);
  }

  /** Finished trials as JSON, CSV, or NOMAD's history-file format. */
  @Get('history')
  @ApiProduces('application/json', 'text/csv', 'text/plain')
  @ApiOkResponse({ type: HistoryResponseDto })
  async getHistory(
    @Param() params: StudyIdParams,
    @Query() query: HistoryQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HistoryResponseDto | string> {
    const items = await this.results.history(params.studyId);
    const format = query.format ?? 'json';
    if (format === 'json') return { items };
    const study = await this.studies.findOrThrow(params.studyId);
    if (format === 'csv') {
      void reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="history-${study.id}.csv"`);
      return historyCsv(
        items,
        study.parameters,
        study.derived.map((derived) => derived.name),
        study.outputs,
      );
    }
    void reply
      .type('text/plain; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="history-${study.id}.txt"`);
    return historyNomad(items, study.outputs);
  }

  /** The engine's current frame and mesh sizes, iteration and stop reason. */
  @Get('engine')
  getEngineState(@Param() params: StudyIdParams): Promise<EngineStateResponseDto> {
    return this.results.engine(params.studyId);
  }
}
