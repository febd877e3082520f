import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { DomainError, notFound } from '../common/errors/domain-error';
import { preparedQuery } from '../database/prepared-query';
import { inTransaction } from '../database/transaction';
import { lockProjectTrialRoom } from '../projects/project-trial-quota';
import { EngineService } from '../engine/engine.service';
import type { InFlightSlot } from '../rate-limit/in-flight-limits';
import { MetricsService } from '../metrics/metrics.service';
import { StudiesService } from '../studies/studies.service';
import { StudyChanges } from '../studies/study-changes';
import type { Study } from '../studies/study.entity';
import * as trialStore from '../trials/store/trial-store';
import type { LeaseResponseDto } from './dto/lease.dto';
import { type LeasingRunner, RunnerHealth } from './runner-health';
import { leaseLimitReached, lockRunnerSlots } from './runner-slots';
import * as runnerStore from './runner-store';

/** Asks by others a lease waits for (while they produce points) before it gives up for now (204). */
const MAX_ROUNDS_PER_LEASE = 20;
/** How often a parked lease asks again even without a change seen in this process. */
const PARKED_LEASE_RECHECK_MS = 1000;
/** Studies with room read at a time, in fair order, by a lease that names no study. */
const STUDY_PAGE = 50;

export type LeaseOutcome =
  { kind: 'leased'; lease: LeaseResponseDto } | { kind: 'none'; studyStatus: Study['status'] | null };

/** 409 RUNNER_CAPACITY_INSUFFICIENT: the study requires more of the runner than it registered. */
function insufficientCapacity(
  studyId: string,
  requirement: 'requiredRunnerGpus' | 'requiredRunnerGpuMemoryMb',
  required: number,
  registered: number | null,
  what: string,
): DomainError {
  const has = registered === null ? 'registered none' : `registered ${registered}`;
  return new DomainError(
    'RUNNER_CAPACITY_INSUFFICIENT',
    `study ${studyId} needs runners with ${what} (${requirement} ${required}); this runner ${has} ` +
      '(register it with what it has, or lease another study)',
    { requirement, required, registered },
  );
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
 * that no two runners ever get the same one. Otherwise the engine's ask (EngineService.askAndLease:
 * the study row locked, every stored result told, new points committed with their trial and lease
 * rows) — one ask for this lease and for every lease of this process waiting for it.
 */
@Injectable()
export class LeaseService {
  /** The engine ask under way in this process for each study, and the leases waiting for it. */
  private readonly asks = new Map<string, AskUnderWay>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engine: EngineService,
    private readonly changes: StudyChanges,
    private readonly metrics: MetricsService,
    private readonly health: RunnerHealth,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * `slot`: the request's place among its project's requests in flight (rate-limit/in-flight-limits.ts),
   * given back while the lease parks: a parked lease holds no connection, and a fleet's leases
   * parked at a study's barrier must not take its project's bound from its reports. A lease that
   * does not get its place back when it wakes answers "nothing now" (204) as if its wait ended.
   */
  async lease(runnerId: string, studyId: string | undefined, slot: InFlightSlot | null = null): Promise<LeaseOutcome> {
    const runner = await this.health.assertMayLease(runnerId);
    if (studyId !== undefined) {
      await this.assertMayLeaseStudy(runner, studyId);
      await this.assertNotDeclined(runnerId, studyId);
    }
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
      slot?.release();
      await this.changes.next(studyId, Math.min(waitMs, PARKED_LEASE_RECHECK_MS));
      if (slot !== null && !(await slot.reenter())) break;
    }
    // Nothing granted because every slot of the runner is taken (by leases that raced this one):
    // the runner is told so, not sent away as if there were nothing to do.
    if (leased === null) await this.assertFreeSlot(runnerId);
    this.metrics.leases.inc({ result: leased === null ? 'empty' : 'leased' });
    if (leased !== null) return { kind: 'leased', lease: leased };
    const status = studyId === undefined ? null : (await this.studies.findSummaryOrThrow(studyId)).status;
    return { kind: 'none', studyStatus: status };
  }

  /**
   * A lease naming a study: another project's study is 404 like one that does not exist; a study
   * requiring labels this runner did not register is 409 RUNNER_LABELS_MISSING, one requiring
   * more GPUs or GPU memory than it registered 409 RUNNER_CAPACITY_INSUFFICIENT (it would wait
   * forever otherwise). Project and requirements of a study never change, so this is checked once.
   */
  private async assertMayLeaseStudy(runner: LeasingRunner, studyId: string): Promise<void> {
    const [study] = await preparedQuery<{
      project_id: string;
      required_runner_labels: string[];
      required_runner_gpus: number | null;
      required_runner_gpu_memory_mb: number | null;
    }>(
      this.dataSource.manager,
      {
        name: 'lease-study-scope',
        text: `SELECT project_id, required_runner_labels, required_runner_gpus, required_runner_gpu_memory_mb
                 FROM studies WHERE id = $1`,
      },
      [studyId],
    );
    if (study === undefined || study.project_id !== runner.projectId) {
      throw notFound('STUDY_NOT_FOUND', 'study', studyId);
    }
    const missing = study.required_runner_labels.filter((label) => !runner.labels.includes(label));
    if (missing.length > 0) {
      throw new DomainError(
        'RUNNER_LABELS_MISSING',
        `study ${studyId} needs runners with the labels ${study.required_runner_labels.join(', ')}; this runner ` +
          `lacks ${missing.join(', ')} (register it with them, or lease another study)`,
        { missing, required: study.required_runner_labels },
      );
    }
    const gpus = study.required_runner_gpus;
    if (gpus !== null && runner.gpus < gpus) {
      throw insufficientCapacity(studyId, 'requiredRunnerGpus', gpus, runner.gpus, `${gpus} GPUs`);
    }
    const memory = study.required_runner_gpu_memory_mb;
    if (memory !== null && (runner.gpuMemoryMb === null || runner.gpuMemoryMb < memory)) {
      throw insufficientCapacity(
        studyId,
        'requiredRunnerGpuMemoryMb',
        memory,
        runner.gpuMemoryMb,
        `${memory} MiB of memory per GPU`,
      );
    }
  }

  /**
   * A lease naming a study this runner declined (runner-study-decline.entity.ts) is 409
   * RUNNER_DECLINED_STUDY, with the runner's reason and when the study may be leased to it
   * again: it would be leased the trial only to give it back again.
   */
  private async assertNotDeclined(runnerId: string, studyId: string): Promise<void> {
    const decline = await runnerStore.declineInForce(
      this.dataSource,
      runnerId,
      studyId,
      this.config.runnerDeclineExpiresAfterMs,
    );
    if (decline === null) return;
    const until = decline.expiresAt;
    throw new DomainError(
      'RUNNER_DECLINED_STUDY',
      `this runner declined study ${studyId} (${decline.reason}); it is not leased to this runner before ` +
        `${until.toISOString()} or until the runner registers again`,
      { reason: decline.reason, declinedAt: decline.declinedAt.toISOString(), until: until.toISOString() },
    );
  }

  /**
   * `leasePending`, within the project's quota on running trials and the runner's slots, in one
   * transaction: a project with a quota takes its lock and counts first
   * (projects/project-trial-quota.ts), then the runner's lock and count (runners/runner-slots.ts).
   * A runner whose slots are all taken is refused here (409 RUNNER_LEASE_LIMIT), before any
   * study is asked: nothing is written.
   */
  private async takePending(
    runner: LeasingRunner,
    runnerId: string,
    studyId: string,
  ): Promise<LeaseResponseDto | null> {
    const quota = runner.projectMaxParallelTrials;
    return inTransaction(this.dataSource, async (manager) => {
      if (quota !== null && (await lockProjectTrialRoom(manager, runner.projectId, quota)) <= 0) return null;
      if ((await lockRunnerSlots(manager, [runnerId])).length === 0) await this.assertFreeSlot(runnerId, manager);
      return trialStore.leasePending(manager, runnerId, studyId);
    });
  }

  /**
   * 409 RUNNER_LEASE_LIMIT (details: `limit`, `held`, `trialIds`; `Retry-After`) when the runner
   * holds as many leases as its `maxConcurrentTrials`; 404 when it no longer exists (reclaimed).
   */
  private async assertFreeSlot(runnerId: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    const slots = (await runnerStore.slotsInUse(manager, [runnerId])).get(runnerId);
    if (slots === undefined) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
    if (slots.held < slots.slots) return;
    const held = await trialStore.runningOf(manager, [runnerId]);
    throw leaseLimitReached(
      runnerId,
      slots.slots,
      held.map((trial) => trial.id).sort(),
      this.config.leaseRetryAfterSeconds,
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
      // Only the runner's project's studies, and only those whose requirements (labels, GPUs) it meets.
      const candidates = await trialStore.studiesWithRoom(
        this.dataSource,
        [...seen],
        STUDY_PAGE,
        runner,
        runnerId,
        this.config.runnerDeclineExpiresAfterMs,
      );
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
      let leased: LeaseResponseDto | null;
      let produced = false;
      try {
        // The ask reads the runners it serves once the study is locked: this lease, then the waiters.
        let served: Waiter[] = [];
        // Every waiter of a study is of the study's project: one quota for the batch.
        const quota = runner.projectMaxParallelTrials;
        const { leases, starved: engineStarved } = await this.engine.askAndLease(
          studyId,
          () => {
            served = [{ runnerId, lease: null }, ...ask.waiters];
            return served.map((waiter) => waiter.runnerId);
          },
          quota === null ? null : { projectId: runner.projectId, quota },
        );
        // Each lease to the first waiter of its runner not served yet (a runner without a free
        // slot got none, so positions do not match).
        for (const granted of leases) {
          const waiter = served.find((w) => w.lease === null && w.runnerId === granted.trial.runnerId);
          if (waiter !== undefined) waiter.lease = granted;
        }
        ask.starved = engineStarved;
        leased = served[0]?.lease ?? null;
        // Points were produced even when this runner had no free slot for one (its waiters got them).
        produced = leases.length > 0;
      } finally {
        this.asks.delete(studyId);
        settle(produced);
      }
      if (ask.starved) starved.value = true;
      return leased;
    }
    return null;
  }

  /** Trials a runner holds a lease on now. */
  async currentTrialIds(runnerIds: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (runnerIds.length === 0) return result;
    const trials = await trialStore.runningOf(this.dataSource, runnerIds);
    for (const trial of trials) {
      result.set(trial.runnerId!, [...(result.get(trial.runnerId!) ?? []), trial.id]);
    }
    return result;
  }
}
