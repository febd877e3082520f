import { Readable } from 'node:stream';
import { Controller, Get, Param, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { type Caller, CurrentCaller, RequireScopes } from '../auth/auth.decorators';
import { StudyIdParams } from '../common/dto/id.params';
import { ProjectScope } from '../projects/project-scope';
import { ENGINE_READ_COST, RequestCost, STUDY_SCAN_COST } from '../rate-limit/request-cost';
import { TrialResponseDto } from '../trials/dto/trial-response.dto';
import { EngineStateResponseDto, HistoryQueryDto, HistoryResponseDto, MAX_HISTORY_PAGE } from './dto/study-results.dto';
import { historyExport } from './history-formats';
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
    private readonly scope: ProjectScope,
  ) {}

  /** The best completed trial (feasible first, as the progressive barrier defines it); 404 before any result. */
  @Get('best')
  async getBestTrial(@Param() params: StudyIdParams, @CurrentCaller() caller: Caller): Promise<TrialResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.results.best(params.studyId);
  }

  /**
   * Finished trials in evaluation order: JSON one page at a time (follow `nextCursor`), or the
   * whole history as CSV or NOMAD's history-file format, streamed batch by batch.
   */
  @Get('history')
  // A JSON page is bounded and indexed; an export reads every finished trial of the study.
  @RequestCost((request) =>
    ((request.query as { format?: unknown }).format ?? 'json') === 'json' ? 0 : STUDY_SCAN_COST,
  )
  @ApiProduces('application/json', 'text/csv', 'text/plain')
  @ApiOkResponse({ type: HistoryResponseDto })
  async getHistory(
    @Param() params: StudyIdParams,
    @Query() query: HistoryQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentCaller() caller: Caller,
  ): Promise<HistoryResponseDto | StreamableFile> {
    await this.scope.study(caller, params.studyId);
    const format = query.format ?? 'json';
    if (format === 'json') {
      const after = query.cursor === undefined ? 0 : Number(query.cursor);
      const page = await this.results.historyPage(params.studyId, after, query.limit ?? MAX_HISTORY_PAGE);
      return { items: page.items, nextCursor: page.next === null ? null : String(page.next) };
    }
    const study = await this.studies.findOrThrow(params.studyId);
    const columns = {
      parameters: study.parameters,
      derivedNames: study.derived.map((derived) => derived.name),
      outputs: study.outputs,
    };
    const extension = format === 'csv' ? 'csv' : 'txt';
    void reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'text/plain; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="history-${study.id}.${extension}"`);
    return new StreamableFile(
      Readable.from(historyExport(format, this.results.historyBatches(study.id), columns), { objectMode: false }),
    );
  }

  /** The engine's current frame and mesh sizes, iteration and stop reason. */
  @Get('engine')
  // Loads the study's engine on the engine thread (a rebuild from its snapshot when not cached).
  @RequestCost(ENGINE_READ_COST)
  async getEngineState(
    @Param() params: StudyIdParams,
    @CurrentCaller() caller: Caller,
  ): Promise<EngineStateResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.results.engine(params.studyId);
  }
}
