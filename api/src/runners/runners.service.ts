import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKeysService } from '../auth/api-keys.service';
import type { Caller } from '../auth/auth.decorators';
import { notFound } from '../common/errors/domain-error';
import type { RegisterRunnerDto } from './dto/register-runner.dto';
import { type RegisteredRunnerResponseDto, type RunnerResponseDto, toRunnerResponse } from './dto/runner-response.dto';
import { LeaseService } from './lease.service';
import { RunnerHealth } from './runner-health';
import { Runner } from './runner.entity';
import { inTransaction } from '../database/transaction';

@Injectable()
export class RunnersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly apiKeys: ApiKeysService,
    private readonly leases: LeaseService,
    private readonly health: RunnerHealth,
  ) {}

  /**
   * A runner-scope key registers a new runner and receives its token, linked to that key: revoking
   * the key revokes the token. A runner token registering
   * again updates its own runner (same id) and keeps its token: restarts do not pile up runners.
   * Registering again is also how a runner fixed after a quarantine says so: it is cleared.
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
      lastSeenAt: new Date(),
    };
    if (caller.runnerId !== null) {
      const runnerId = caller.runnerId;
      await inTransaction(this.dataSource, async (manager) => {
        await manager.getRepository(Runner).update({ id: runnerId }, fields);
        await this.health.clear(runnerId, manager);
      });
      return this.get(runnerId);
    }
    return inTransaction(this.dataSource, async (manager) => {
      await this.apiKeys.lockIssuer(manager, caller.keyId);
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
    const [runners, total] = await this.dataSource.getRepository(Runner).findAndCount({
      where: projectId === null ? {} : { projectId },
      order: { lastSeenAt: 'DESC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
    const current = await this.leases.currentTrialIds(runners.map((runner) => runner.id));
    return { items: runners.map((runner) => toRunnerResponse(runner, current.get(runner.id) ?? [])), total };
  }
}
