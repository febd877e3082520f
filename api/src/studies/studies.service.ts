import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, notFound, ValidationFailedError } from '../common/errors/domain-error';
import { AlgorithmError } from '../optimizer-contract/algorithm-errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { rowsWithinPageBytes } from '../database/page-bytes';
import { preparedQuery } from '../database/prepared-query';
import { inTransaction } from '../database/transaction';
import { parseStoppingPolicy } from '../early-stopping';
import { EngineService } from '../engine/engine.service';
import { ProjectsService } from '../projects/projects.service';
import { engineFieldError, parseSearchSpace } from '../search-space/search-space-parse';
import * as runnerStore from '../runners/runner-store';
import * as trialStore from '../trials/store/trial-store';
import type { CreateStudyDto } from './dto/create-study.dto';
import type { RunnerDeclineListResponseDto, StudyResponseDto, StudySummaryDto } from './dto/study-response.dto';
import { engineStart } from './study-engine';
import { readCheckpointSteps } from './training-config';
import {
  emptyTrialTotals,
  STUDY_SUMMARY_COLUMNS,
  type StudyTrialTotals,
  toStudyResponse,
  toStudySummary,
} from './study-response.mapper';
import { findStudyRow, lockStudyRow } from './study-row';
import { isFinishedStudy, type StudyStatus } from './study-status';
import { Study } from './study.entity';

const DEFAULT_MAX_PARALLEL_TRIALS = 1000;
const DEFAULT_MAX_ATTEMPTS = 3;

@Injectable()
export class StudiesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectsService,
    private readonly engines: EngineService,
  ) {}

  /**
   * Validates the whole definition (nothing is written when anything is wrong), then creates the
   * study in `projectId` (the caller's, projects/project-scope.ts), within the project's quotas.
   */
  async create(dto: CreateStudyDto, projectId: string): Promise<StudyResponseDto> {
    const definition = {
      parameters: dto.parameters,
      derived: dto.derived ?? [],
      outputs: dto.outputs.map((output) =>
        output.type === 'objective' ? { ...output, goal: output.goal ?? 'minimize' } : output,
      ),
      x0: dto.x0 ?? [],
    };
    const { name: algorithmName = 'mads', seed = 0, ...algorithmOptions } = dto.algorithm ?? {};
    // The one parse of the space (search-space/search-space-parse.ts): the user's rules, then the engine problem.
    const parsed = parseSearchSpace(definition, { maxEvaluations: dto.budget.maxEvaluations, seed });
    if (!parsed.ok) throw new ValidationFailedError(parsed.errors);

    // MADS only needs to know whether a trial beats the incumbent: its default stops the ones that
    // cannot (docs/algorithm.md, "Early stopping"); random search keeps every run whole by default.
    // Stopping that can be undone is allowed only where a resume is cheap: the runner keeps a
    // checkpoint of the pause step (docs/algorithm.md, "Early stopping: pause and resume").
    // A checkpointSteps that is there but wrong is named alone: the policy is judged as if it held.
    const checkpoints = readCheckpointSteps(dto.trainingConfig);
    const parsedPolicy = parseStoppingPolicy(
      dto.earlyStopping ?? { kind: algorithmName === 'mads' ? 'curve' : 'none' },
      'earlyStopping',
      { checkpointed: checkpoints.checkpointed || checkpoints.error !== null },
    );
    const errors = [
      ...(checkpoints.error === null ? [] : [checkpoints.error]),
      ...(parsedPolicy.ok ? [] : parsedPolicy.errors),
    ];
    if (errors.length > 0 || !parsedPolicy.ok) throw new ValidationFailedError(errors);
    let engineState: unknown;
    try {
      // The engine validates the problem and the options once, as it starts (in the engine host thread).
      engineState = await this.engines.initialState(
        engineStart(parsed.space, parsed.problem, algorithmName, algorithmOptions),
        projectId,
      );
    } catch (error) {
      // Its errors carry where they are as data (not a path to read back): the user's field from it.
      const field = error instanceof AlgorithmError ? engineFieldError(parsed.space, error) : null;
      if (field === null) throw error;
      throw new ValidationFailedError([field]);
    }
    const study = this.dataSource.getRepository(Study).create({
      projectId,
      requiredRunnerLabels: [...new Set(dto.requiredRunnerLabels ?? [])],
      requiredRunnerGpus: dto.requiredRunnerGpus ?? null,
      requiredRunnerGpuMemoryMb: dto.requiredRunnerGpuMemoryMb ?? null,
      name: dto.name,
      description: dto.description ?? null,
      status: 'active',
      stopReason: null,
      ...definition,
      maxEvaluations: dto.budget.maxEvaluations,
      maxGpuHours: dto.budget.maxGpuHours ?? null,
      maxParallelTrials: dto.budget.maxParallelTrials ?? DEFAULT_MAX_PARALLEL_TRIALS,
      maxAttempts: dto.budget.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      leaseSeconds: dto.budget.leaseSeconds ?? this.config.defaultLeaseSeconds,
      algorithm: algorithmName,
      algorithmOptions,
      seed,
      trainingConfig: dto.trainingConfig ?? {},
      earlyStopping: parsedPolicy.policy,
      nextTrialNumber: 1,
      evaluationCount: 0,
      completedAt: null,
      engineState,
    });
    const saved = await inTransaction(this.dataSource, async (manager) => {
      const quota = await this.projects.reserveActiveStudy(manager, projectId, { newStudy: true });
      if (quota.maxParallelTrials !== null) {
        if (dto.budget.maxParallelTrials === undefined) {
          study.maxParallelTrials = Math.min(study.maxParallelTrials, quota.maxParallelTrials);
        } else if (dto.budget.maxParallelTrials > quota.maxParallelTrials) {
          throw new DomainError(
            'PROJECT_QUOTA_EXCEEDED',
            `project quota maxParallelTrials: budget.maxParallelTrials ${dto.budget.maxParallelTrials} is more ` +
              `than the project's quota of ${quota.maxParallelTrials} running trials`,
            {
              quota: 'maxParallelTrials',
              limit: quota.maxParallelTrials,
              field: 'budget.maxParallelTrials',
              projectId,
            },
          );
        }
      }
      return manager.getRepository(Study).save(study);
    });
    return toStudyResponse(saved, emptyTrialTotals());
  }

  /** One page of study summaries: only the summary columns are read (studies/study-response.mapper.ts). */
  /** `projectId`: that project's studies only (projects/project-scope.ts); null: every project's. */
  async list(
    status: StudyStatus | undefined,
    limit: number,
    offset: number,
    projectId: string | null = null,
  ): Promise<{ items: StudySummaryDto[]; total: number }> {
    const repository = this.dataSource.getRepository(Study);
    const where = { ...(status === undefined ? {} : { status }), ...(projectId === null ? {} : { projectId }) };
    const [rows, total] = await Promise.all([
      this.summaryRowsWithinBytes(status, limit, offset, projectId),
      repository.countBy(where),
    ]);
    if (rows === 0) return { items: [], total };
    const query = repository
      .createQueryBuilder('study')
      .select(STUDY_SUMMARY_COLUMNS.map((column) => `study.${column}`))
      .addSelect('jsonb_array_length(study.parameters)', 'parameter_count')
      .where(where)
      .orderBy('study.createdAt', 'DESC')
      .addOrderBy('study.id', 'ASC')
      .limit(rows)
      .offset(offset);
    const { entities, raw } = await query.getRawAndEntities<{ parameter_count: number }>();
    const totals = await this.trialTotals(entities.map((study) => study.id));
    return {
      items: entities.map((study, index) =>
        toStudySummary(
          { ...study, parameterCount: Number(raw[index].parameter_count) },
          totals.get(study.id) ?? emptyTrialTotals(),
        ),
      ),
      total,
    };
  }

  /**
   * How many rows of the page `list` reads fit in PAGE_BYTES (database/page-bytes.ts; at most `limit`): summaries of long
   * descriptions, 100 outputs and 50 labels come fewer to a page (docs/reliability.md, finding 18).
   */
  private async summaryRowsWithinBytes(
    status: StudyStatus | undefined,
    limit: number,
    offset: number,
    projectId: string | null,
  ): Promise<number> {
    const values: unknown[] = [limit, offset];
    const filters = ['TRUE'];
    if (status !== undefined) filters.push(`s.status = $${values.push(status)}`);
    if (projectId !== null) filters.push(`s.project_id = $${values.push(projectId)}`);
    const columns = STUDY_SUMMARY_COLUMNS.map((column) => `s."${this.columnName(column)}"`).join(', ');
    return rowsWithinPageBytes(
      this.dataSource,
      `SELECT ${columns} FROM studies s WHERE ${filters.join(' AND ')} ORDER BY s.created_at DESC, s.id ASC LIMIT $1 OFFSET $2`,
      'created_at DESC, id ASC',
      values,
    );
  }

  private columnName(property: string): string {
    return this.dataSource.getMetadata(Study).findColumnWithPropertyName(property)!.databaseName;
  }

  async get(studyId: string): Promise<StudyResponseDto> {
    const study = await this.findOrThrow(studyId);
    const totals = await this.trialTotals([studyId]);
    return toStudyResponse(study, totals.get(studyId) ?? emptyTrialTotals());
  }

  /** A page of the study's runner declines in force, the newest first (runners/runner-study-decline.entity.ts). */
  async runnerDeclines(studyId: string, limit: number, offset: number): Promise<RunnerDeclineListResponseDto> {
    const { rows, total } = await runnerStore.declinesOfStudy(
      this.dataSource,
      studyId,
      this.config.runnerDeclineExpiresAfterMs,
      limit,
      offset,
    );
    const items = rows.map((row) => ({
      runnerId: row.runner_id,
      runnerName: row.runner_name,
      reason: row.reason,
      declinedAt: row.declined_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
    }));
    return { items, total, limit, offset };
  }

  /** The study without its engine snapshot (EngineStore reads that). */
  async findOrThrow(studyId: string, manager: EntityManager = this.dataSource.manager): Promise<Study> {
    const study = await findStudyRow(manager, studyId);
    if (study === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
    return study;
  }

  /** Status and lease length only: hot paths (lease, heartbeat) need no engine state or search space. */
  async findSummaryOrThrow(
    studyId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Pick<Study, 'id' | 'status' | 'leaseSeconds'>> {
    const study = await manager
      .getRepository(Study)
      .findOne({ select: { id: true, status: true, leaseSeconds: true }, where: { id: studyId } });
    if (study === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
    return study;
  }

  /** The study row locked FOR UPDATE (without its engine snapshot): the only way to change its status or engine. */
  async lock(manager: EntityManager, studyId: string): Promise<Study> {
    const study = await lockStudyRow(manager, studyId);
    if (study === null) throw notFound('STUDY_NOT_FOUND', 'study', studyId);
    return study;
  }

  async pause(studyId: string): Promise<StudyResponseDto> {
    return this.transition(studyId, ['active'], 'paused');
  }

  async resume(studyId: string): Promise<StudyResponseDto> {
    return this.transition(studyId, ['paused'], 'active');
  }

  /** Stops for good: pending trials are stopped; running ones are told to stop at their next heartbeat. */
  async stop(studyId: string): Promise<StudyResponseDto> {
    return this.transition(studyId, ['active', 'paused'], 'stopped');
  }

  /**
   * Deletes a finished study (completed, failed or stopped) with everything it owns, in one
   * transaction: its trials, and through them their leases and metrics, and its engine events go
   * by the foreign keys' ON DELETE CASCADE (migrations/1764316800000-InitialSchema.ts,
   * migrations/1795867128744-EngineEvents.ts); the engine snapshot is a column of the row. An
   * active or paused study is refused (409 STUDY_NOT_FINISHED naming its status): runners may be
   * leasing it, and stopping first is the one way to end it. The row is locked first, as the engine
   * path does (study row, then trial rows), so engine calls and reports queued on it finish before
   * and find nothing after; a runner still holding a lease of a stopped study gets 404
   * TRIAL_NOT_FOUND at its next call. The cascade reads the indexes that lead with trial_id and
   * study_id (docs/benchmarks.md, "Deleting a study").
   */
  async delete(studyId: string): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      const study = await this.lock(manager, studyId);
      if (!isFinishedStudy(study.status)) {
        throw new DomainError(
          'STUDY_NOT_FINISHED',
          `a ${study.status} study cannot be deleted; stop it first (POST /v1/studies/${study.id}/stop)`,
          { status: study.status },
        );
      }
      await preparedQuery(manager, { name: 'study-delete', text: 'DELETE FROM studies WHERE id = $1' }, [study.id]);
    });
  }

  private async transition(studyId: string, from: StudyStatus[], to: StudyStatus): Promise<StudyResponseDto> {
    await inTransaction(this.dataSource, async (manager) => {
      const study = await this.lock(manager, studyId);
      if (study.status === to) return;
      if (!from.includes(study.status)) {
        throw new DomainError(
          'INVALID_STATUS_TRANSITION',
          `a ${study.status} study cannot become ${to} (allowed from: ${from.join(', ')})`,
        );
      }
      // Becoming active again takes a place in the project's quota of active studies.
      if (to === 'active') await this.projects.reserveActiveStudy(manager, study.projectId, { newStudy: false });
      study.status = to;
      if (to === 'stopped') {
        study.stopReason = 'user_stopped';
        study.completedAt = new Date();
        await trialStore.stopPending(manager, studyId, study.completedAt);
      }
      await manager.getRepository(Study).save(study);
    });
    return this.get(studyId);
  }

  /**
   * Per study: trials by status and GPU-seconds, one grouped statement. Saved GPU-seconds are an
   * estimate (StudyResponseDto.gpuHoursSaved): an early-stopped trial's own rate times what was
   * left of its run.
   */
  async trialTotals(
    studyIds: string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, StudyTrialTotals>> {
    const totals = new Map<string, StudyTrialTotals>();
    if (studyIds.length === 0) return totals;
    for (const row of await trialStore.countsByStatus(manager, studyIds)) {
      const entry = totals.get(row.studyId) ?? emptyTrialTotals();
      entry.counts[row.status] = row.count;
      entry.gpuSecondsUsed += Number(row.gpuSeconds);
      entry.gpuSecondsSaved += Number(row.gpuSecondsSaved);
      totals.set(row.studyId, entry);
    }
    return totals;
  }
}
