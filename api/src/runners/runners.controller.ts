import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Inject } from '@nestjs/common';
import { type Caller, CurrentCaller, RequireScopes, RunnerToken } from '../auth/auth.decorators';
import { RunnerIdParams } from '../common/dto/id.params';
import { ProjectScope } from '../projects/project-scope';
import { CurrentInFlightSlot } from '../rate-limit/in-flight.interceptor';
import type { InFlightSlot } from '../rate-limit/in-flight-limits';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { LeaseRequestDto, LeaseResponseDto } from './dto/lease.dto';
import { ListRunnersQueryDto } from './dto/list-runners.query.dto';
import { RegisterRunnerDto } from './dto/register-runner.dto';
import { RegisteredRunnerResponseDto, RunnerListResponseDto, RunnerResponseDto } from './dto/runner-response.dto';
import { LeaseService } from './lease.service';
import { RunnersService } from './runners.service';

@ApiTags('runners')
@ApiBearerAuth()
@Controller('v1/runners')
export class RunnersController {
  constructor(
    private readonly runners: RunnersService,
    private readonly leases: LeaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scope: ProjectScope,
  ) {}

  /**
   * Register a runner with a runner-scope key; the reply holds the runner token (shown once). A
   * project holds at most `maxRunners` runners: beyond, runners without a lease unseen for 15
   * minutes are reclaimed (deleted with their tokens), else 409 `PROJECT_QUOTA_EXCEEDED` with
   * `details.quota: "maxRunners"`. A runner token registering again updates its own runner.
   */
  @Post()
  @RequireScopes('runner')
  @ApiCreatedResponse({ type: RegisteredRunnerResponseDto })
  async registerRunner(
    @Body() body: RegisterRunnerDto,
    @CurrentCaller() caller: Caller,
  ): Promise<RunnerResponseDto | RegisteredRunnerResponseDto> {
    return this.runners.register(body, caller, await this.scope.forNew(caller, body.projectId));
  }

  /** Runners, most recently seen first. */
  @Get()
  @RequireScopes('user')
  async listRunners(
    @Query() query: ListRunnersQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<RunnerListResponseDto> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const { items, total } = await this.runners.list(limit, offset, this.scope.listed(caller, query.projectId));
    return { items, total, limit, offset };
  }

  /**
   * Lets a quarantined runner lease again (an operator fixed the machine, or judged the failures
   * not the machine's); also forgets an unhealthy runner's failure streak.
   */
  @Post(':runnerId/clear-quarantine')
  @HttpCode(200)
  @RequireScopes('user')
  async clearRunnerQuarantine(
    @Param() params: RunnerIdParams,
    @CurrentCaller() caller: Caller,
  ): Promise<RunnerResponseDto> {
    await this.scope.runner(caller, params.runnerId);
    return this.runners.clearQuarantine(params.runnerId);
  }

  /** Runner liveness while idle. */
  @Post(':runnerId/heartbeat')
  @HttpCode(200)
  @RunnerToken()
  heartbeatRunner(@Param() params: RunnerIdParams): Promise<RunnerResponseDto> {
    return this.runners.heartbeat(params.runnerId);
  }

  /**
   * Lease one trial: 200 with the trial, or 204 with `Retry-After` when there is nothing to do
   * (with `Meshtune-Study-Status` naming the study's status when a study was asked for). A
   * quarantined runner gets 409 `RUNNER_QUARANTINED` (details: `quarantinedAt`, `reason`) with
   * `Retry-After`. A runner that holds as many leases as its `maxConcurrentTrials` gets 409
   * `RUNNER_LEASE_LIMIT` (details: `limit`, `held`, `trialIds`) with `Retry-After`, and nothing is
   * written. Without `studyId`, every active study with room is reachable, the one with the
   * fewest running trials relative to its `maxParallelTrials` first.
   */
  @Post(':runnerId/lease')
  @HttpCode(200)
  @RunnerToken()
  @ApiOkResponse({ type: LeaseResponseDto })
  @ApiNoContentResponse({ description: 'No trial to run now; retry after `Retry-After` seconds.' })
  @ApiHeader({ name: 'Retry-After', required: false, description: 'On 204: seconds to wait before leasing again.' })
  async leaseTrial(
    @Param() params: RunnerIdParams,
    @Body() body: LeaseRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentInFlightSlot() slot: InFlightSlot | null,
  ): Promise<LeaseResponseDto | undefined> {
    const outcome = await this.leases.lease(params.runnerId, body.studyId, slot);
    if (outcome.kind === 'leased') return outcome.lease;
    void reply.code(204).header('Retry-After', String(this.config.leaseRetryAfterSeconds));
    if (outcome.studyStatus !== null) void reply.header('Meshtune-Study-Status', outcome.studyStatus);
    return undefined;
  }
}
