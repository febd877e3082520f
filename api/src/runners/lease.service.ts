import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import type { EngineSession } from '../studies/engine/engine-session';
import { EngineStore } from '../studies/engine/engine-store';
import { StudiesService } from '../studies/studies.service';
import { StudyChanges } from '../studies/study-changes';
import { mappingOf } from '../studies/study-engine';
import { Study } from '../studies/study.entity';
import { TrialOutcomes, type TrialsInFlight } from '../trials/trial-outcomes';
import { Trial } from '../trials/trial.entity';
import { preparedQuery } from '../database/prepared-query';
import { inTransaction } from '../database/transaction';
import { DomainError, notFound } from '../common/errors/domain-error';
import { lockProjectTrialRoom } from '../projects/project-trial-quota';
import type { LeaseResponseDto } from './dto/lease.dto';
import { type LeasingRunner, RunnerHealth } from './runner-health';
import { insertLeasedTrials, takePendingTrial } from './trial-grants';

/** How many times one lease asks the engine again when it suggests a point that is already a trial. */
const MAX_ASKS_PER_LEASE = 5;
/** Most points one lease asks the engine for (itself and the runners queued behind it). */
const MAX_BATCH = 64;
/** Asks by others a lease waits for (while they produce points) before it gives up for now (204). */
const MAX_ROUNDS_PER_LEASE = 20;
/** How often a parked lease asks again even without a change seen in this process. */
const PARKED_LEASE_RECHECK_MS = 1000;
/** Studies with room read at a time, in fair order, by a lease that names no study. */
const STUDY_PAGE = 50;

export type LeaseOutcome =
  { kind: 'leased'; lease: LeaseResponseDto } | { kind: 'none'; studyStatus: Study['status'] | null };

/** Room left in the project's quota on running trials for one lease; Infinity: no quota. */
interface ProjectRoom {
  value: number;
}

/** A lease waiting for another's engine ask, and what that ask granted it. */
interface Waiter {
  runnerId: string;
  lease: LeaseResponseDto | null;
}

interface AskUnderWay {
  /** Leases waiting for this ask: it asks the engine for them too and leases them its points. */
  waiters: Waiter[];
  /** Resolves once the ask committed: true when it produced points. */
  done: Promise<boolean>;
  /** The engine had nothing to suggest until results in flight arrive. */
  starved: boolean;
}

/**
 * Hands one trial to one runner (docs/architecture.md, Runner protocol). First a pending trial
 * (user-enqueued or requeued), taken and leased in one statement with FOR UPDATE SKIP LOCKED, so
 * that no two runners ever get the same one. Otherwise, with the study row locked FOR UPDATE, the
 * engine is told every stored result and asked for new points, which commit with their trial and
 * lease rows — one ask for this lease and for every lease of this process waiting for it.
 */
@Injectable()
export class LeaseService {
  /** The engine ask under way in this process for each study, and the leases waiting for it. */
  private readonly asks = new Map<string, AskUnderWay>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engines: EngineStore,
    private readonly outcomes: TrialOutcomes,
    private readonly changes: StudyChanges,
    private readonly metrics: MetricsService,
    private readonly health: RunnerHealth,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async lease(runnerId: string, studyId: string | undefined): Promise<LeaseOutcome> {
    const runner = await this.health.assertMayLease(runnerId);
    if (studyId !== undefined) await this.assertMayLeaseStudy(runner, studyId);
    const deadline = Date.now() + this.config.leaseWaitMs;
    let leased: LeaseResponseDto | null;
    for (;;) {
      const starved = { value: false };
      leased =
        studyId === undefined
          ? await this.leaseFromAnyStudy(runner, runnerId, starved)
          : ((await this.takePending(runner, runnerId, studyId)) ??
            (await this.leaseFromStudy(runner, runnerId, studyId, starved)));
      const waitMs = deadline - Date.now();
      if (leased !== null || !starved.value || studyId === undefined || waitMs <= 0) break;
      // The engine waits for results in flight before it can suggest again: wait with it (woken
      // by a result told in this process, or after a while for results told by another one).
      await this.changes.next(studyId, Math.min(waitMs, PARKED_LEASE_RECHECK_MS));
    }
    this.metrics.leases.inc({ result: leased === null ? 'empty' : 'leased' });
    if (leased !== null) return { kind: 'leased', lease: leased };
    const status = studyId === undefined ? null : (await this.studies.findSummaryOrThrow(studyId)).status;
    return { kind: 'none', studyStatus: status };
  }

  /**
   * A lease naming a study: another project's study is 404 like one that does not exist; a study
   * requiring labels this runner did not register is 409 RUNNER_LABELS_MISSING (it would wait
   * forever otherwise). Project and labels of a study never change, so this is checked once.
   */
  private async assertMayLeaseStudy(runner: LeasingRunner, studyId: string): Promise<void> {
    const [study] = await preparedQuery<{ project_id: string; required_runner_labels: string[] }>(
      this.dataSource.manager,
      { name: 'lease-study-scope', text: 'SELECT project_id, required_runner_labels FROM studies WHERE id = $1' },
      [studyId],
    );
    if (study === undefined || study.project_id !== runner.projectId)
      throw notFound('STUDY_NOT_FOUND', 'study', studyId);
    const missing = study.required_runner_labels.filter((label) => !runner.labels.includes(label));
    if (missing.length > 0) {
      throw new DomainError(
        'RUNNER_LABELS_MISSING',
        `study ${studyId} needs runners with the labels ${study.required_runner_labels.join(', ')}; this runner ` +
          `lacks ${missing.join(', ')} (register it with them, or lease another study)`,
        { missing, required: study.required_runner_labels },
      );
    }
  }

  /**
   * `takePendingTrial`, within the project's quota on running trials: a project with a quota
   * takes its lock and counts first, in one transaction (projects/project-trial-quota.ts).
   */
  private async takePending(
    runner: LeasingRunner,
    runnerId: string,
    studyId: string,
  ): Promise<LeaseResponseDto | null> {
    const quota = runner.projectMaxParallelTrials;
    if (quota === null) return takePendingTrial(this.dataSource.manager, runnerId, studyId);
    return inTransaction(this.dataSource, async (manager) =>
      (await lockProjectTrialRoom(manager, runner.projectId, quota)) > 0
        ? takePendingTrial(manager, runnerId, studyId)
        : null,
    );
  }

  /**
   * A lease that names no study: every active study with room is a candidate (none is out of
   * reach however many there are), the fairest first — fewest running trials relative to its
   * `maxParallelTrials`, then fewest running, then the oldest — so runners are shared between
   * studies rather than filling the oldest ones first. Each candidate gets its pending trials
   * leased first, then an engine ask; the next page is read only when a whole page gave nothing.
   */
  private async leaseFromAnyStudy(
    runner: LeasingRunner,
    runnerId: string,
    starved: { value: boolean },
  ): Promise<LeaseResponseDto | null> {
    const seen = new Set<string>();
    for (;;) {
      const candidates = (
        await preparedQuery<{ id: string }>(
          this.dataSource.manager,
          {
            name: 'lease-fair-studies',
            text: `SELECT s.id FROM studies s
             CROSS JOIN LATERAL (
               SELECT COUNT(*) FILTER (WHERE t.status = 'running')::int AS running,
                      COUNT(*) FILTER (WHERE t.status = 'pending')::int AS pending
                 FROM trials t WHERE t.study_id = s.id AND t.status IN ('running', 'pending')
             ) c
             WHERE s.status = 'active' AND NOT (s.id = ANY($1::uuid[]))
               -- Tenancy: only the runner's project, and only studies whose required labels it has.
               AND s.project_id = $3 AND s.required_runner_labels <@ $4::jsonb
               AND c.running < s.max_parallel_trials
               AND (c.pending > 0 OR s.evaluation_count + c.running < s.max_evaluations)
             ORDER BY c.running::float8 / s.max_parallel_trials, c.running, s.created_at, s.id
             LIMIT $2`,
          },
          [[...seen], STUDY_PAGE, runner.projectId, JSON.stringify(runner.labels)],
        )
      ).map((row) => row.id);
      if (candidates.length === 0) return null;
      for (const candidate of candidates) {
        seen.add(candidate);
        const leased =
          (await this.takePending(runner, runnerId, candidate)) ??
          (await this.leaseFromStudy(runner, runnerId, candidate, starved));
        if (leased !== null) return leased;
      }
      if (candidates.length < STUDY_PAGE) return null;
    }
  }

  /**
   * One engine ask per study at a time in this process: a lease that finds one under way waits
   * for it, and the ask asks the engine for the waiters too and leases them its points directly
   * (no second query, no race); only a lease that finds no ask under way locks the study and asks.
   */
  private async leaseFromStudy(
    runner: LeasingRunner,
    runnerId: string,
    studyId: string,
    starved: { value: boolean },
  ): Promise<LeaseResponseDto | null> {
    for (let round = 0; round < MAX_ROUNDS_PER_LEASE; round += 1) {
      const current = this.asks.get(studyId);
      if (current !== undefined) {
        const waiter: Waiter = { runnerId, lease: null };
        current.waiters.push(waiter);
        const produced = await current.done;
        if (waiter.lease === null && current.starved) starved.value = true;
        if (waiter.lease !== null || !produced) return waiter.lease;
        continue;
      }
      const ask: AskUnderWay = { waiters: [], done: Promise.resolve(false), starved: false };
      let settle: (produced: boolean) => void = () => undefined;
      ask.done = new Promise((resolveAsk) => (settle = resolveAsk));
      this.asks.set(studyId, ask);
      let leased: LeaseResponseDto | null = null;
      try {
        leased = await this.engines.withLockedStudy(studyId, async (manager, study, engine) => {
          // Attempts rolled back (deadlock retry) granted nothing.
          for (const waiter of ask.waiters) waiter.lease = null;
          if (study.status !== 'active') return null;
          // The project's quota on running trials (its lock is held until this commits).
          const room: ProjectRoom = {
            value:
              runner.projectMaxParallelTrials === null
                ? Infinity
                : await lockProjectTrialRoom(manager, runner.projectId, runner.projectMaxParallelTrials),
          };
          // A pending trial may have appeared (requeued, enqueued) while we waited for the lock.
          const pending = room.value > 0 ? await takePendingTrial(manager, runnerId, study.id) : null;
          if (pending !== null) return pending;
          const inFlight = await this.outcomes.tellFinished(manager, study, engine);
          if (study.status !== 'active') return null;
          return this.askAndLease(manager, study, engine, inFlight, runnerId, ask, room);
        });
      } catch (error) {
        // Nothing of the failed ask committed: its waiters got nothing.
        for (const waiter of ask.waiters) waiter.lease = null;
        throw error;
      } finally {
        this.asks.delete(studyId);
        settle(leased !== null);
      }
      if (ask.starved) starved.value = true;
      return leased;
    }
    return null;
  }

  /**
   * Asks the engine for this lease and the waiting ones (as many as the budget and the parallel
   * limit allow) and leases the points: the first to this runner, the others to the waiters in
   * the order they came. With one runner the batch is 1, i.e. NOMAD's sequential order.
   */
  private async askAndLease(
    manager: EntityManager,
    study: Study,
    engine: () => Promise<EngineSession>,
    { running, pending, untold }: TrialsInFlight,
    runnerId: string,
    ask: AskUnderWay,
    room: ProjectRoom,
  ): Promise<LeaseResponseDto | null> {
    const capacity = Math.min(
      study.maxParallelTrials - running - pending,
      study.maxEvaluations - study.evaluationCount - untold - running - pending,
      room.value,
    );
    if (capacity <= 0) return null;
    const served = [{ runnerId, lease: null } as Waiter, ...ask.waiters].slice(0, Math.min(capacity, MAX_BATCH));
    const session = await engine();
    const mapping = mappingOf(study);
    let granted = 0;
    for (let asks = 0; asks < MAX_ASKS_PER_LEASE && granted < served.length; asks += 1) {
      const endAsk = this.metrics.askDuration.startTimer();
      const suggestions = session.ask(served.length - granted);
      endAsk();
      if (suggestions.length === 0) break;
      const waiting = served.slice(granted, granted + suggestions.length);
      const leases = await insertLeasedTrials(
        manager,
        study,
        suggestions,
        waiting.map((waiter) => waiter.runnerId),
        mapping,
      );
      leases.forEach((lease, i) => (waiting[i].lease = lease));
      granted += leases.length;
    }
    if (granted === 0) {
      if (!(await this.outcomes.completeIfDone(manager, study, session))) {
        ask.starved = session.stopReason === null && running + pending + untold > 0;
      }
      return null;
    }
    return served[0].lease;
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
