import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ApiKeysService } from '../auth/api-keys.service';
import type { Caller } from '../auth/auth.decorators';
import { DomainError, notFound } from '../common/errors/domain-error';
import { ProjectsService } from '../projects/projects.service';
import type { RegisterRunnerDto } from './dto/register-runner.dto';
import { type RegisteredRunnerResponseDto, type RunnerResponseDto, toRunnerResponse } from './dto/runner-response.dto';
import { LeaseService } from './lease.service';
import { RunnerHealth } from './runner-health';
import { RUNNER_RECLAIMABLE_AFTER_MS } from './runner-liveness';
import { lockRunners } from './runner-slots';
import * as runnerStore from './runner-store';
import { DEFAULT_RUNNER_MAX_CONCURRENT_TRIALS, Runner } from './runner.entity';
import { rowsWithinPageBytes } from '../database/page-bytes';
import { inTransaction } from '../database/transaction';

@Injectable()
export class RunnersService {
  private readonly logger = new Logger('Runners');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly apiKeys: ApiKeysService,
    private readonly leases: LeaseService,
    private readonly health: RunnerHealth,
    private readonly projects: ProjectsService,
  ) {}

  /**
   * A runner-scope key registers a new runner and receives its token, linked to that key: revoking
   * the key revokes the token. A runner token registering
   * again updates its own runner (same id) and keeps its token: restarts do not pile up runners.
   * Registering again is also how a runner fixed after a quarantine says so: it is cleared, and so
   * are its declines of studies (it may have other folders now).
   * A new runner counts against its project's `maxRunners` (`reserveRunner`).
   */
  async register(
    body: RegisterRunnerDto,
    caller: Caller,
    projectId: string,
  ): Promise<RunnerResponseDto | RegisteredRunnerResponseDto> {
    const fields = {
      name: body.name,
      gpus: body.gpus ?? 0,
      gpuMemoryMb: body.gpuMemoryMb ?? null,
      labels: body.labels ?? [],
      maxConcurrentTrials: body.maxConcurrentTrials ?? DEFAULT_RUNNER_MAX_CONCURRENT_TRIALS,
      lastSeenAt: new Date(),
    };
    if (caller.runnerId !== null) {
      const runnerId = caller.runnerId;
      await inTransaction(this.dataSource, async (manager) => {
        await manager.getRepository(Runner).update({ id: runnerId }, fields);
        await this.health.clear(runnerId, manager);
        // Its settings may have changed (other folders, another kind): the studies it declined
        // are offered to it again (runner-study-decline.entity.ts).
        await runnerStore.clearDeclines(manager, runnerId);
      });
      return this.get(runnerId);
    }
    let reclaimed: { runnerIds: string[]; tokenHashes: string[] } = { runnerIds: [], tokenHashes: [] };
    const registered = await inTransaction(this.dataSource, async (manager) => {
      await this.apiKeys.lockIssuer(manager, caller.keyId);
      reclaimed = await this.reserveRunner(manager, projectId);
      const runner = await manager
        .getRepository(Runner)
        .save(manager.getRepository(Runner).create({ ...fields, projectId }));
      const { key } = await this.apiKeys.create(`runner ${body.name}`.slice(0, 200), 'runner', {
        runnerId: runner.id,
        issuedByKeyId: caller.keyId,
        projectId,
        manager,
      });
      return { ...toRunnerResponse(runner, []), token: key };
    });
    if (reclaimed.runnerIds.length > 0) {
      this.apiKeys.forget(reclaimed.tokenHashes);
      this.logger.log({ message: 'stale runners reclaimed', projectId, runnerIds: reclaimed.runnerIds });
    }
    return registered;
  }

  /**
   * The project's quota on runners (`maxRunners`), exact however many registrations race: the
   * project row is locked and the runners counted (ProjectsService.lockRunnerQuota). At the
   * quota, runners that hold no lease and were not heard from for RUNNER_RECLAIMABLE_AFTER_MS are
   * reclaimed first, the longest unseen first, as many as this registration needs: each under its
   * slot lock (runners/runner-slots.ts, so none is granted a lease meanwhile), deleted with its
   * token. When too few are, 409 PROJECT_QUOTA_EXCEEDED (`details.quota: "maxRunners"`) and
   * nothing is written (the transaction is rolled back, reclamations included).
   */
  private async reserveRunner(
    manager: EntityManager,
    projectId: string,
  ): Promise<{ runnerIds: string[]; tokenHashes: string[] }> {
    const { maxRunners, runners } = await this.projects.lockRunnerQuota(manager, projectId);
    const needed = runners - maxRunners + 1;
    if (needed <= 0) return { runnerIds: [], tokenHashes: [] };
    const seenBefore = new Date(Date.now() - RUNNER_RECLAIMABLE_AFTER_MS);
    const candidates = await runnerStore.reclaimableRunners(manager, projectId, seenBefore, needed);
    let runnerIds: string[] = [];
    let tokenHashes: string[] = [];
    if (candidates.length === needed) {
      await lockRunners(manager, candidates);
      tokenHashes = await this.apiKeys.runnerTokenHashes(manager, candidates);
      runnerIds = await runnerStore.deleteReclaimableRunners(manager, candidates, seenBefore);
    }
    if (runnerIds.length < needed) {
      throw new DomainError(
        'PROJECT_QUOTA_EXCEEDED',
        `project quota maxRunners: the project has ${runners} runners, its quota is ${maxRunners}, and none ` +
          `can be reclaimed (a runner is reclaimed when it holds no lease and was not seen for ` +
          `${RUNNER_RECLAIMABLE_AFTER_MS / 60_000} minutes); re-use a registered runner's token, or ask an admin ` +
          'to raise the quota',
        {
          quota: 'maxRunners',
          limit: maxRunners,
          current: runners,
          projectId,
          reclaimableAfterSeconds: RUNNER_RECLAIMABLE_AFTER_MS / 1000,
        },
      );
    }
    return { runnerIds, tokenHashes };
  }

  async heartbeat(runnerId: string): Promise<RunnerResponseDto> {
    const result = await this.dataSource.getRepository(Runner).update({ id: runnerId }, { lastSeenAt: new Date() });
    if (result.affected === 0) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
    return this.get(runnerId);
  }

  /** An operator's clear: the runner leases again (its streak is forgotten). */
  async clearQuarantine(runnerId: string): Promise<RunnerResponseDto> {
    await this.health.clear(runnerId);
    return this.get(runnerId);
  }

  async get(runnerId: string): Promise<RunnerResponseDto> {
    const runner = await this.dataSource.getRepository(Runner).findOneBy({ id: runnerId });
    if (runner === null) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
    const current = await this.leases.currentTrialIds([runnerId]);
    return toRunnerResponse(runner, current.get(runnerId) ?? []);
  }

  /** `projectId`: that project's runners only; null: every runner. */
  async list(
    limit: number,
    offset: number,
    projectId: string | null = null,
  ): Promise<{ items: RunnerResponseDto[]; total: number }> {
    // A page stops at PAGE_BYTES too: runners of 50 long labels and a 10,000-character last
    // failure come fewer to a page (docs/reliability.md, finding 18).
    const fitting = await rowsWithinPageBytes(
      this.dataSource,
      `SELECT r.* FROM runners r WHERE ${projectId === null ? 'TRUE' : 'r.project_id = $3'}
        ORDER BY r.last_seen_at DESC, r.id ASC LIMIT $1 OFFSET $2`,
      'last_seen_at DESC, id ASC',
      projectId === null ? [limit, offset] : [limit, offset, projectId],
    );
    const [runners, total] = await this.dataSource.getRepository(Runner).findAndCount({
      where: projectId === null ? {} : { projectId },
      order: { lastSeenAt: 'DESC', id: 'ASC' },
      take: Math.max(fitting, 1),
      skip: offset,
    });
    const current = await this.leases.currentTrialIds(runners.map((runner) => runner.id));
    return { items: runners.map((runner) => toRunnerResponse(runner, current.get(runner.id) ?? [])), total };
  }
}
