import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { pointKey } from '../search-space/engine-mapping';
import { mappingOf, restoreStudyAlgorithm } from '../studies/study-engine';
import { StudiesService } from '../studies/studies.service';
import { Study } from '../studies/study.entity';
import { TrialLease } from '../trials/trial-lease.entity';
import { TrialOutcomes } from '../trials/trial-outcomes';
import { toTrialResponse } from '../trials/trial-response.mapper';
import { Trial } from '../trials/trial.entity';
import { MetricsService } from '../metrics/metrics.service';
import type { LeaseResponseDto } from './dto/lease.dto';
import { Runner } from './runner.entity';
import { inTransaction } from '../database/transaction';

/** How many times one lease asks the engine again when it suggests a point that is already a trial. */
const MAX_ASKS_PER_LEASE = 5;
/** Most points one lease asks the engine for (itself and the runners queued behind it). */
const MAX_BATCH = 16;
/** Studies a single lease looks at when no study is named. */
const MAX_STUDIES_PER_LEASE = 20;

export type LeaseOutcome =
  { kind: 'leased'; lease: LeaseResponseDto } | { kind: 'none'; studyStatus: Study['status'] | null };

/**
 * Hands one trial to one runner (ARCHITECTURE.md, runner protocol 2): first a pending trial
 * (user-enqueued, requeued after an expired lease), taken with FOR UPDATE SKIP LOCKED so that no
 * two runners ever get the same one; otherwise a new point asked from a study's engine with the
 * study row locked FOR UPDATE, so the engine state and the new trial row commit together.
 */
@Injectable()
export class LeaseService {
  /** Lease transactions of this process waiting for each study's row lock. */
  private readonly waiting = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly outcomes: TrialOutcomes,
    private readonly metrics: MetricsService,
  ) {}

  async lease(runnerId: string, studyId: string | undefined): Promise<LeaseOutcome> {
    if (studyId !== undefined) await this.studies.findSummaryOrThrow(studyId);
    const leased = await inTransaction(this.dataSource, async (manager) => {
      await manager.getRepository(Runner).update({ id: runnerId }, { lastSeenAt: new Date() });
      const pending = await this.takePending(manager, runnerId, studyId);
      if (pending !== null) return pending;
      return this.takeSuggestion(manager, runnerId, studyId);
    });
    this.metrics.leases.inc({ result: leased === null ? 'empty' : 'leased' });
    if (leased !== null) return { kind: 'leased', lease: leased };
    const status = studyId === undefined ? null : (await this.studies.findSummaryOrThrow(studyId)).status;
    return { kind: 'none', studyStatus: status };
  }

  private async takePending(
    manager: EntityManager,
    runnerId: string,
    studyId: string | undefined,
  ): Promise<LeaseResponseDto | null> {
    const parameters: unknown[] = [];
    let studyFilter = '';
    if (studyId !== undefined) {
      parameters.push(studyId);
      studyFilter = 'AND t.study_id = $1';
    }
    const rows: { id: string }[] = await manager.query(
      `SELECT t.id FROM trials t JOIN studies s ON s.id = t.study_id
        WHERE t.status = 'pending' AND s.status = 'active' ${studyFilter}
          AND (SELECT COUNT(*) FROM trials r WHERE r.study_id = t.study_id AND r.status = 'running') < s.max_parallel_trials
        ORDER BY t.created_at, t.number
        LIMIT 1
        FOR UPDATE OF t SKIP LOCKED`,
      parameters,
    );
    if (rows.length === 0) return null;
    const trial = await manager.getRepository(Trial).findOneByOrFail({ id: rows[0].id });
    const study = await manager.getRepository(Study).findOneOrFail({
      select: { id: true, leaseSeconds: true, trainingConfig: true, outputs: true },
      where: { id: trial.studyId },
    });
    return this.grant(manager, study, trial, runnerId);
  }

  private async takeSuggestion(
    manager: EntityManager,
    runnerId: string,
    studyId: string | undefined,
  ): Promise<LeaseResponseDto | null> {
    const candidates =
      studyId !== undefined
        ? [studyId]
        : (
            await manager.getRepository(Study).find({
              select: { id: true },
              where: { status: 'active' },
              order: { createdAt: 'ASC', id: 'ASC' },
              take: MAX_STUDIES_PER_LEASE,
            })
          ).map((study) => study.id);
    for (const candidate of candidates) {
      this.waiting.set(candidate, (this.waiting.get(candidate) ?? 0) + 1);
      let study: Study;
      try {
        study = await this.studies.lock(manager, candidate, { withEngineState: false });
      } finally {
        this.waiting.set(candidate, this.waiting.get(candidate)! - 1);
      }
      if (study.status !== 'active') continue;
      // A peer that held the lock before us may have queued a point for us.
      const queued = await this.takePending(manager, runnerId, study.id);
      if (queued !== null) return queued;
      const leased = await this.askAndLease(manager, study, runnerId);
      if (leased !== null) return leased;
    }
    return null;
  }

  /**
   * Asks the engine for this lease and, in one go, for the runners queued behind it on the study
   * lock (this process's count): those points become pending trials they take without asking,
   * so the engine state is read and written once per batch instead of once per lease. With one
   * runner the batch is 1, i.e. NOMAD's sequential order.
   */
  private async askAndLease(manager: EntityManager, study: Study, runnerId: string): Promise<LeaseResponseDto | null> {
    const trials = manager.getRepository(Trial);
    const [running, pending] = await Promise.all([
      trials.countBy({ studyId: study.id, status: 'running' }),
      trials.countBy({ studyId: study.id, status: 'pending' }),
    ]);
    const capacity = Math.min(
      study.maxParallelTrials - running,
      study.maxEvaluations - study.evaluationCount - running - pending,
    );
    if (capacity <= 0) return null;
    const batch = Math.min(capacity, MAX_BATCH, 1 + (this.waiting.get(study.id) ?? 0));
    const endAsk = this.metrics.askDuration.startTimer();
    const { engineState } = await manager
      .getRepository(Study)
      .findOneOrFail({ select: { id: true, engineState: true }, where: { id: study.id } });
    study.engineState = engineState;
    const algorithm = restoreStudyAlgorithm(study);
    const mapping = mappingOf(study);
    const created: Trial[] = [];
    for (let asks = 0; asks < MAX_ASKS_PER_LEASE && created.length < batch; asks += 1) {
      const suggestions = algorithm.ask(batch - created.length);
      if (suggestions.length === 0) break;
      for (const suggestion of suggestions) {
        const key = pointKey(suggestion.x);
        // A point the engine suggests may already be an enqueued trial: that trial's result answers it.
        if ((await trials.countBy({ studyId: study.id, pointKey: key })) > 0) continue;
        created.push(
          trials.create({
            studyId: study.id,
            number: study.nextTrialNumber,
            status: 'pending',
            origin: suggestion.origin,
            point: [...suggestion.x],
            pointKey: key,
            parameters: mapping.toUser(suggestion.x),
            attempt: 1,
          }),
        );
        study.nextTrialNumber += 1;
      }
    }
    study.engineState = algorithm.toJSON();
    endAsk();
    if (created.length === 0) await this.outcomes.completeIfDone(manager, study, algorithm);
    await manager.getRepository(Study).update(
      { id: study.id },
      {
        engineState: study.engineState as object,
        nextTrialNumber: study.nextTrialNumber,
        status: study.status,
        stopReason: study.stopReason,
        completedAt: study.completedAt,
      },
    );
    if (created.length === 0) return null;
    const [mine] = await trials.save(created);
    return this.grant(manager, study, mine, runnerId);
  }

  private async grant(
    manager: EntityManager,
    study: Pick<Study, 'leaseSeconds' | 'trainingConfig' | 'outputs'>,
    trial: Trial,
    runnerId: string,
  ): Promise<LeaseResponseDto> {
    const now = new Date();
    trial.status = 'running';
    trial.runnerId = runnerId;
    trial.leaseExpiresAt = new Date(now.getTime() + study.leaseSeconds * 1000);
    trial.startedAt ??= now;
    trial.lastHeartbeatAt = null;
    trial.progress = null;
    await manager.getRepository(Trial).save(trial);
    await manager
      .getRepository(TrialLease)
      .insert({ trialId: trial.id, attempt: trial.attempt, runnerId, leasedAt: now });
    return {
      trial: toTrialResponse(trial),
      trainingConfig: study.trainingConfig,
      outputs: study.outputs,
      leaseExpiresAt: trial.leaseExpiresAt.toISOString(),
      leaseSeconds: study.leaseSeconds,
    };
  }

  /** Trials a runner holds a lease on now. */
  async currentTrialIds(runnerIds: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (runnerIds.length === 0) return result;
    const trials = await this.dataSource.getRepository(Trial).find({
      select: { id: true, runnerId: true },
      where: { runnerId: In(runnerIds), status: 'running' },
    });
    for (const trial of trials) {
      result.set(trial.runnerId!, [...(result.get(trial.runnerId!) ?? []), trial.id]);
    }
    return result;
  }
}
