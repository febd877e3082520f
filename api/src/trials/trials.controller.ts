import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { type Caller, CurrentCaller, RequireScopes, RunnerToken } from '../auth/auth.decorators';
import { StudyIdParams, TrialIdParams } from '../common/dto/id.params';
import { DomainError } from '../common/errors/domain-error';
import { STUDY_SCAN_COST, RequestCost } from '../rate-limit/request-cost';
import { ProjectScope } from '../projects/project-scope';
import { EnqueueTrialDto } from './dto/enqueue-trial.dto';
import { ImportNomadCacheDto, ImportNomadCacheResponseDto } from './dto/import-nomad-cache.dto';
import { NomadCacheImportService } from './nomad-cache-import.service';
import { ListTrialsQueryDto } from './dto/list-trials.query.dto';
import {
  CompleteTrialDto,
  DeclineTrialDto,
  FailTrialDto,
  ReleaseTrialDto,
  TrialHeartbeatDto,
  TrialHeartbeatResponseDto,
} from './dto/trial-reports.dto';
import { TrialListResponseDto, TrialResponseDto } from './dto/trial-response.dto';
import { TrialReportsService } from './trial-reports.service';
import { TrialsService } from './trials.service';

@ApiTags('trials')
@ApiBearerAuth()
@Controller('v1')
export class TrialsController {
  constructor(
    private readonly trials: TrialsService,
    private readonly reports: TrialReportsService,
    private readonly cacheImport: NomadCacheImportService,
    private readonly scope: ProjectScope,
  ) {}

  /**
   * A report on a trial this runner does not hold is 403 TRIAL_NOT_LEASED_TO_RUNNER — unless the
   * trial is another project's, which answers 404 like every route (its existence is not told).
   * Checked only on that refusal, so the reports' fast path costs nothing more.
   */
  private async report<T>(caller: Caller, trialId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DomainError && error.code === 'TRIAL_NOT_LEASED_TO_RUNNER') {
        await this.scope.trial(caller, trialId);
      }
      throw error;
    }
  }

  /** Warm start: a NOMAD cache file's evaluations become finished trials the engine knows. */
  @Post('studies/:studyId/import/nomad-cache')
  @RequireScopes('user')
  @RequestCost(STUDY_SCAN_COST)
  async importNomadCache(
    @Param() params: StudyIdParams,
    @Body() body: ImportNomadCacheDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ImportNomadCacheResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.cacheImport.import(params.studyId, body.cacheFile);
  }

  /** Trials of a study in number order. */
  @Get('studies/:studyId/trials')
  @RequireScopes('user')
  async listTrials(
    @Param() params: StudyIdParams,
    @Query() query: ListTrialsQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialListResponseDto> {
    await this.scope.study(caller, params.studyId);
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const { items, total } = await this.trials.list(params.studyId, query.status, limit, offset);
    return { items, total, limit, offset };
  }

  /** Enqueue a point of your own; it is leased before the engine's next suggestion. */
  @Post('studies/:studyId/trials')
  @RequireScopes('user')
  async enqueueTrial(
    @Param() params: StudyIdParams,
    @Body() body: EnqueueTrialDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialResponseDto> {
    await this.scope.study(caller, params.studyId);
    return this.trials.enqueue(params.studyId, body.parameters);
  }

  /** One trial with its intermediate metrics. */
  @Get('trials/:trialId')
  @RequireScopes('user')
  async getTrial(@Param() params: TrialIdParams, @CurrentCaller() caller: Caller): Promise<TrialResponseDto> {
    await this.scope.trial(caller, params.trialId);
    return this.trials.get(params.trialId);
  }

  /** Extend the lease and record intermediate metrics; the reply says whether to stop. */
  @Post('trials/:trialId/heartbeat')
  @HttpCode(200)
  @RunnerToken()
  heartbeatTrial(
    @Param() params: TrialIdParams,
    @Body() body: TrialHeartbeatDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialHeartbeatResponseDto> {
    return this.report(caller, params.trialId, () => this.reports.heartbeat(params.trialId, caller.runnerId!, body));
  }

  /** Report the outputs. Repeating the same report returns the same answer; a different one is 409. */
  @Post('trials/:trialId/complete')
  @HttpCode(200)
  @RunnerToken()
  completeTrial(
    @Param() params: TrialIdParams,
    @Body() body: CompleteTrialDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialResponseDto> {
    return this.report(caller, params.trialId, () => this.reports.complete(params.trialId, caller.runnerId!, body));
  }

  /** Report a failed evaluation (or, with `retryable`, a transient failure to retry). */
  @Post('trials/:trialId/fail')
  @HttpCode(200)
  @RunnerToken()
  failTrial(
    @Param() params: TrialIdParams,
    @Body() body: FailTrialDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialResponseDto> {
    return this.report(caller, params.trialId, () => this.reports.fail(params.trialId, caller.runnerId!, body));
  }

  /**
   * This runner cannot run the trial's study by its own settings (a path outside its folders, a
   * study with no `trainingConfig` for a training runner), found before training or by the training
   * child as it starts (then with the `gpuSeconds` it used): the trial is given back untouched
   * (budget, attempts, engine, the runner's health) for another runner, and the study is not leased
   * to this runner for `MESHTUNE_RUNNER_DECLINE_MS`, an hour by default (docs/runner.md, "Studies a
   * runner cannot run").
   */
  @Post('trials/:trialId/decline')
  @HttpCode(200)
  @RunnerToken()
  declineTrial(
    @Param() params: TrialIdParams,
    @Body() body: DeclineTrialDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialResponseDto> {
    return this.report(caller, params.trialId, () =>
      this.reports.decline(params.trialId, caller.runnerId!, body.reason, body.gpuSeconds ?? null),
    );
  }

  /**
   * Give an unfinished trial back (runner shutting down, study paused); another lease picks it up.
   * The body is optional; its `gpuSeconds` counts what the attempt used up to the release.
   */
  @Post('trials/:trialId/release')
  @HttpCode(200)
  @RunnerToken()
  @ApiBody({ type: ReleaseTrialDto, required: false })
  releaseTrial(
    @Param() params: TrialIdParams,
    @Body() body: ReleaseTrialDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrialResponseDto> {
    return this.report(caller, params.trialId, () =>
      this.reports.release(params.trialId, caller.runnerId!, body?.gpuSeconds ?? null),
    );
  }
}
