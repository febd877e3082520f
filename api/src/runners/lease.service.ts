import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service';
import type { Suggestion } from '../algorithms/algorithm';
import { type EngineMapping, pointKey } from '../search-space/engine-mapping';
import type { EngineSession } from '../studies/engine/engine-session';
import { EngineStore } from '../studies/engine/engine-store';
import { StudiesService } from '../studies/studies.service';
import { mappingOf } from '../studies/study-engine';
import { Study } from '../studies/study.entity';
import { TrialOutcomes, type TrialsInFlight } from '../trials/trial-outcomes';
import { toTrialResponse } from '../trials/trial-response.mapper';
import { trialFromRow, type TrialRow } from '../trials/trial-row';
import { Trial } from '../trials/trial.entity';
import type { LeaseResponseDto } from './dto/lease.dto';

/** How many times one lease asks the engine again when it suggests a point that is already a trial. */
const MAX_ASKS_PER_LEASE = 5;
/** Most points one lease asks the engine for (itself and the runners queued behind it). */
const MAX_BATCH = 16;
/** Studies a single lease looks at when no study is named. */
const MAX_STUDIES_PER_LEASE = 20;

export type LeaseOutcome =
  { kind: 'leased'; lease: LeaseResponseDto } | { kind: 'none'; studyStatus: Study['status'] | null };

type GrantedRow = TrialRow & {
  study_lease_seconds: number;
  study_training_config: Record<string, unknown>;
  study_outputs: Study['outputs'];
};

/**
 * Hands one trial to one runner (ARCHITECTURE.md, runner protocol 2). First a pending trial
 * (user-enqueued, requeued, or asked for this runner by a peer's batch), taken and leased in one
 * statement with FOR UPDATE SKIP LOCKED, so that no two runners ever get the same one and most
 * leases never touch the study lock. Otherwise, with the study row locked FOR UPDATE, the engine
 * is told every stored result and asked for new points, which commit with their trial rows.
 */
@Injectable()
export class LeaseService {
  /** Lease transactions of this process waiting for each study's row lock. */
  private readonly waiting = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engines: EngineStore,
    private readonly outcomes: TrialOutcomes,
    private readonly metrics: MetricsService,
  ) {}

  async lease(runnerId: string, studyId: string | undefined): Promise<LeaseOutcome> {
    const leased =
      (await this.takePending(this.dataSource.manager, runnerId, studyId)) ??
      (await this.takeSuggestion(runnerId, studyId));
    this.metrics.leases.inc({ result: leased === null ? 'empty' : 'leased' });
    if (leased !== null) return { kind: 'leased', lease: leased };
    const status = studyId === undefined ? null : (await this.studies.findSummaryOrThrow(studyId)).status;
    return { kind: 'none', studyStatus: status };
  }

  /**
   * The oldest pending trial of an active study with room for one more running trial, leased to
   * the runner, with its lease row, in one statement; also marks the runner seen.
   */
  private async takePending(
    manager: EntityManager,
    runnerId: string,
    studyId: string | undefined,
  ): Promise<LeaseResponseDto | null> {
    const now = new Date();
    const parameters: unknown[] = [runnerId, now];
    if (studyId !== undefined) parameters.push(studyId);
    const rows = (await manager.query(
      `WITH seen AS (
         UPDATE runners SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2::timestamptz - interval '1 second'
       ), candidate AS (
         SELECT t.id FROM trials t JOIN studies s ON s.id = t.study_id
          WHERE t.status = 'pending' AND s.status = 'active' ${studyId === undefined ? '' : 'AND t.study_id = $3'}
            AND (SELECT COUNT(*) FROM trials r WHERE r.study_id = t.study_id AND r.status = 'running') < s.max_parallel_trials
          ORDER BY t.created_at, t.number
          LIMIT 1
          FOR UPDATE OF t SKIP LOCKED
       ), granted AS (
         UPDATE trials t
            SET status = 'running', runner_id = $1, updated_at = $2,
                lease_expires_at = $2::timestamptz + make_interval(secs => s.lease_seconds),
                started_at = COALESCE(t.started_at, $2), last_heartbeat_at = NULL, progress = NULL
           FROM candidate c, studies s
          WHERE t.id = c.id AND s.id = t.study_id
         RETURNING t.*, s.lease_seconds AS study_lease_seconds, s.training_config AS study_training_config,
                   s.outputs AS study_outputs
       ), recorded AS (
         INSERT INTO trial_leases (trial_id, attempt, runner_id, leased_at) SELECT id, attempt, $1, $2 FROM granted
       )
       SELECT * FROM granted`,
      parameters,
    )) as GrantedRow[];
    if (rows.length === 0) return null;
    const [row] = rows;
    const trial = trialFromRow(row);
    return {
      trial: toTrialResponse(trial),
      trainingConfig: row.study_training_config,
      outputs: row.study_outputs,
      leaseExpiresAt: trial.leaseExpiresAt!.toISOString(),
      leaseSeconds: row.study_lease_seconds,
    };
  }

  private async takeSuggestion(runnerId: string, studyId: string | undefined): Promise<LeaseResponseDto | null> {
    const candidates =
      studyId !== undefined
        ? [studyId]
        : (
            await this.dataSource.getRepository(Study).find({
              select: { id: true },
              where: { status: 'active' },
              order: { createdAt: 'ASC', id: 'ASC' },
              take: MAX_STUDIES_PER_LEASE,
            })
          ).map((study) => study.id);
    for (const candidate of candidates) {
      let queuedHere = true;
      const leaveQueue = (): void => {
        if (!queuedHere) return;
        queuedHere = false;
        this.waiting.set(candidate, this.waiting.get(candidate)! - 1);
      };
      this.waiting.set(candidate, (this.waiting.get(candidate) ?? 0) + 1);
      let leased: LeaseResponseDto | null;
      try {
        leased = await this.engines.withLockedStudy(candidate, async (manager, study, engine) => {
          leaveQueue();
          if (study.status !== 'active') return null;
          // A peer that held the lock before us may have asked a point for us.
          const queued = await this.takePending(manager, runnerId, study.id);
          if (queued !== null) return queued;
          const inFlight = await this.outcomes.tellFinished(manager, study, engine);
          if (study.status !== 'active') return null;
          return this.askAndLease(manager, study, engine, inFlight, runnerId);
        });
      } finally {
        leaveQueue();
      }
      if (leased !== null) return leased;
    }
    return null;
  }

  /**
   * Asks the engine for this lease and, in one go, for the runners queued behind it on the study
   * lock (this process's count): those points become pending trials they take without asking.
   * With one runner the batch is 1, i.e. NOMAD's sequential order.
   */
  private async askAndLease(
    manager: EntityManager,
    study: Study,
    engine: () => Promise<EngineSession>,
    { running, pending, untold }: TrialsInFlight,
    runnerId: string,
  ): Promise<LeaseResponseDto | null> {
    const capacity = Math.min(
      study.maxParallelTrials - running,
      study.maxEvaluations - study.evaluationCount - untold - running - pending,
    );
    if (capacity <= 0) return null;
    const batch = Math.min(capacity, MAX_BATCH, 1 + (this.waiting.get(study.id) ?? 0));
    const session = await engine();
    const mapping = mappingOf(study);
    let created = 0;
    for (let asks = 0; asks < MAX_ASKS_PER_LEASE && created < batch; asks += 1) {
      const endAsk = this.metrics.askDuration.startTimer();
      const suggestions = session.ask(batch - created);
      endAsk();
      if (suggestions.length === 0) break;
      created += await this.insertPending(manager, study, suggestions, mapping);
    }
    if (created === 0) {
      await this.outcomes.completeIfDone(manager, study, session);
      return null;
    }
    return this.takePending(manager, runnerId, study.id);
  }

  /**
   * The suggestions as pending trials numbered on from the study's next number, in one
   * statement; a point that is already a trial of the study (an enqueued one: its result will
   * answer the engine) is left out. Returns how many were inserted.
   */
  private async insertPending(
    manager: EntityManager,
    study: Study,
    suggestions: Suggestion[],
    mapping: EngineMapping,
  ): Promise<number> {
    const rows = suggestions.map((suggestion) => ({
      origin: suggestion.origin,
      point: suggestion.x,
      point_key: pointKey(suggestion.x),
      parameters: mapping.toUser(suggestion.x),
    }));
    const inserted = (await manager.query(
      `WITH input AS (
         SELECT item->>'origin' AS origin, item->'point' AS point, item->>'point_key' AS point_key,
                item->'parameters' AS parameters, position
           FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(item, position)
       ), fresh AS (
         SELECT DISTINCT ON (point_key) * FROM input
          WHERE NOT EXISTS (SELECT 1 FROM trials t WHERE t.study_id = $1 AND t.point_key = input.point_key)
          ORDER BY point_key, position
       )
       INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt)
       SELECT $1, $3 + (row_number() OVER (ORDER BY position))::int - 1, 'pending', origin, point, point_key, parameters, 1
         FROM fresh
       RETURNING number`,
      [study.id, JSON.stringify(rows), study.nextTrialNumber],
    )) as { number: number }[];
    study.nextTrialNumber += inserted.length;
    return inserted.length;
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
