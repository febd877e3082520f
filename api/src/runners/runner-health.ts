import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, notFound } from '../common/errors/domain-error';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { preparedQuery } from '../database/prepared-query';
import { inTransaction } from '../database/transaction';
import { MetricsService } from '../metrics/metrics.service';
import { StudiesService } from '../studies/studies.service';
import { StudyChanges } from '../studies/study-changes';
import { isFinishedStudy } from '../studies/study-status';
import * as trialStore from '../trials/store/trial-store';
import { Runner } from './runner.entity';
import { RUNNER_LIVE_WITHIN_MS } from './runner-liveness';
import * as runnerStore from './runner-store';

/** What a quarantined runner is told to wait before asking for a lease again (an operator must act). */
export const QUARANTINE_RETRY_AFTER_SECONDS = 60;

/** What a lease filters by: the runner's project (and its quota on running trials), labels and GPUs. */
export interface LeasingRunner {
  projectId: string;
  labels: string[];
  gpus: number;
  /** Memory of one GPU, MiB; null when the runner did not say (it meets no memory requirement). */
  gpuMemoryMb: number | null;
  /** The project's quota on running trials over all its studies; null: none. */
  projectMaxParallelTrials: number | null;
}

export interface RunnerFailureOutcome {
  /** The failure quarantined the runner (it was not quarantined before). */
  quarantinedNow: boolean;
  failureStreak: number;
}

/**
 * Runner health (issue: a broken machine must not burn a study). A runner failure — the runner
 * says its machine cannot run trials — marks the runner unhealthy; N of them in a row within the
 * window quarantine it: its leases go back to pending and it is refused new ones
 * (409 RUNNER_QUARANTINED) until an operator clears it or it registers again after a fix.
 */
@Injectable()
export class RunnerHealth {
  private readonly logger = new Logger('RunnerHealth');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly studies: StudiesService,
    private readonly changes: StudyChanges,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Counts a runner failure in the caller's transaction (the runner row locked, so concurrent
   * reports of one runner count one after the other) and quarantines the runner when the streak
   * reaches the threshold. After commit the caller calls `afterRunnerFailure` with the outcome.
   */
  async recordRunnerFailure(
    manager: EntityManager,
    runnerId: string,
    error: string,
    now: Date = new Date(),
  ): Promise<RunnerFailureOutcome> {
    const runners = manager.getRepository(Runner);
    const runner = await runners.findOne({ where: { id: runnerId }, lock: { mode: 'pessimistic_write' } });
    if (runner === null) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
    const { quarantineAfterFailures: threshold, quarantineWindowSeconds: windowSeconds } = this.config;
    const newStreak =
      runner.failureStreakStartedAt === null ||
      now.getTime() - runner.failureStreakStartedAt.getTime() > windowSeconds * 1000;
    runner.failureStreak = newStreak ? 1 : runner.failureStreak + 1;
    if (newStreak) runner.failureStreakStartedAt = now;
    runner.lastFailure = error.slice(0, 2000);
    runner.lastFailureAt = now;
    const quarantinedNow = runner.quarantinedAt === null && threshold > 0 && runner.failureStreak >= threshold;
    if (quarantinedNow) {
      runner.quarantinedAt = now;
      runner.quarantineReason =
        `${runner.failureStreak} runner failures in a row within ${windowSeconds} s; last: ${error}`.slice(0, 2000);
    }
    runner.health = runner.quarantinedAt === null ? 'unhealthy' : 'quarantined';
    await runners.update(
      { id: runnerId },
      {
        failureStreak: runner.failureStreak,
        failureStreakStartedAt: runner.failureStreakStartedAt,
        lastFailure: runner.lastFailure,
        lastFailureAt: runner.lastFailureAt,
        quarantinedAt: runner.quarantinedAt,
        quarantineReason: runner.quarantineReason,
        health: runner.health,
      },
    );
    return { quarantinedNow, failureStreak: runner.failureStreak };
  }

  /**
   * A failed evaluation this runner reported (after it is stored): its evaluation-failure streak
   * grows, and at `MESHTUNE_QUARANTINE_AFTER_EVALUATION_FAILURES` in a row within the window it is
   * quarantined — but only when other runners completed trials of the studies it failed on since
   * the streak began: points that fail everywhere are the points' fault, not this machine's.
   */
  async recordEvaluationFailure(runnerId: string, error: string, now: Date = new Date()): Promise<void> {
    const { quarantineAfterEvaluationFailures: threshold, quarantineWindowSeconds: windowSeconds } = this.config;
    if (threshold === 0) return;
    const outcome = await inTransaction(this.dataSource, async (manager) => {
      const runners = manager.getRepository(Runner);
      const runner = await runners.findOne({ where: { id: runnerId }, lock: { mode: 'pessimistic_write' } });
      if (runner === null) return null;
      const started = runner.evaluationFailureStreakStartedAt;
      const newStreak = started === null || now.getTime() - started.getTime() > windowSeconds * 1000;
      const streak = newStreak ? 1 : runner.evaluationFailureStreak + 1;
      const streakStartedAt = newStreak ? now : started;
      let quarantinedNow = false;
      if (runner.quarantinedAt === null && streak >= threshold) {
        quarantinedNow = await trialStore.completedElsewhere(manager, runnerId, streakStartedAt);
      }
      await runners.update(
        { id: runnerId },
        {
          evaluationFailureStreak: streak,
          evaluationFailureStreakStartedAt: streakStartedAt,
          ...(quarantinedNow
            ? {
                health: 'quarantined' as const,
                quarantinedAt: now,
                quarantineReason:
                  `${streak} failed evaluations in a row within ${windowSeconds} s while other runners completed ` +
                  `trials of the same studies; last: ${error}`.slice(0, 2000),
              }
            : {}),
        },
      );
      return { quarantinedNow, failureStreak: streak };
    });
    if (outcome?.quarantinedNow === true) {
      this.metrics.runnerQuarantines.inc();
      const released = await this.releaseLeasesOf(runnerId);
      this.logger.warn({
        message: 'runner quarantined',
        runnerId,
        evaluationFailures: outcome.failureStreak,
        released,
      });
    }
  }

  /** After the failure committed: metrics, and a runner quarantined now gives its other leases back. */
  async afterRunnerFailure(runnerId: string, outcome: RunnerFailureOutcome): Promise<void> {
    this.metrics.runnerFailures.inc();
    if (!outcome.quarantinedNow) return;
    this.metrics.runnerQuarantines.inc();
    const released = await this.releaseLeasesOf(runnerId);
    this.logger.warn({ message: 'runner quarantined', runnerId, failures: outcome.failureStreak, released });
  }

  /**
   * Gives every trial a quarantined runner holds back to pending (lease outcome `quarantined`,
   * no attempt used): another runner picks them up. Each trial with its study row locked, then
   * its own (the service's one lock order).
   */
  async releaseLeasesOf(runnerId: string): Promise<number> {
    const held = await trialStore.runningOf(this.dataSource, [runnerId]);
    let released = 0;
    for (const { id, studyId } of held) {
      const done = await inTransaction(this.dataSource, async (manager) => {
        const study = await this.studies.lock(manager, studyId);
        const trial = await trialStore.lockTrial(manager, id);
        if (trial === null || trial.status !== 'running' || trial.runnerId !== runnerId) return false;
        await trialStore.requeue(manager, trial, {
          leaseOutcome: 'quarantined',
          studyOver: isFinishedStudy(study.status),
        });
        return true;
      });
      if (done) {
        released += 1;
        this.changes.notify(studyId);
      }
    }
    return released;
  }

  /**
   * The lease gate: a quarantined runner gets 409 RUNNER_QUARANTINED with the reason and
   * Retry-After. Otherwise returns what the lease filters by (docs/architecture.md, "Projects"):
   * the runner's project, its quota on running trials, and the runner's labels.
   */
  async assertMayLease(runnerId: string): Promise<LeasingRunner> {
    const [row] = await preparedQuery<{
      quarantined_at: Date | null;
      quarantine_reason: string | null;
      project_id: string;
      labels: string[];
      gpus: number;
      gpu_memory_mb: number | null;
      project_max_parallel_trials: number | null;
    }>(
      this.dataSource.manager,
      {
        name: 'runner-quarantine',
        text: `SELECT r.quarantined_at, r.quarantine_reason, r.project_id, r.labels, r.gpus, r.gpu_memory_mb,
                      p.max_parallel_trials AS project_max_parallel_trials
                 FROM runners r JOIN projects p ON p.id = r.project_id WHERE r.id = $1`,
      },
      [runnerId],
    );
    if (row === undefined) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
    if (row.quarantined_at === null) {
      return {
        projectId: row.project_id,
        labels: row.labels,
        gpus: row.gpus,
        gpuMemoryMb: row.gpu_memory_mb,
        projectMaxParallelTrials: row.project_max_parallel_trials,
      };
    }
    throw new DomainError(
      'RUNNER_QUARANTINED',
      `runner ${runnerId} is quarantined since ${row.quarantined_at.toISOString()}: ${row.quarantine_reason ?? ''}; ` +
        'fix the machine, then register again (POST /v1/runners with the runner token) or ask an operator to clear it',
      { quarantinedAt: row.quarantined_at.toISOString(), reason: row.quarantine_reason },
      QUARANTINE_RETRY_AFTER_SECONDS,
    );
  }

  /** Memory of one of the runner's GPUs (MiB) as it registered it; null when it did not say (or said 0). */
  async gpuMemoryMbOf(runnerId: string): Promise<number | null> {
    const runner = await this.dataSource
      .getRepository(Runner)
      .findOne({ select: { id: true, gpuMemoryMb: true }, where: { id: runnerId } });
    if (runner === null) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
    return runner.gpuMemoryMb === null || runner.gpuMemoryMb <= 0 ? null : runner.gpuMemoryMb;
  }

  /**
   * Whether a live (RUNNER_LIVE_WITHIN_MS), not quarantined runner that may lease the study has
   * at least `minGpuMemoryMb` per GPU: a trial that ran out of memory waits for it, or fails when
   * there is none (trials/trial-reports.service.ts, `failResource`).
   */
  async anyLiveRunnerFits(manager: EntityManager, studyId: string, minGpuMemoryMb: number): Promise<boolean> {
    return runnerStore.liveRunnerFits(
      manager,
      studyId,
      minGpuMemoryMb,
      new Date(Date.now() - RUNNER_LIVE_WITHIN_MS),
      this.config.runnerDeclineExpiresAfterMs,
    );
  }

  /** An operator's clear, or the runner's new registration: healthy, streak forgotten. */
  async clear(runnerId: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    const result = await manager.getRepository(Runner).update(
      { id: runnerId },
      {
        health: 'healthy',
        failureStreak: 0,
        failureStreakStartedAt: null,
        evaluationFailureStreak: 0,
        evaluationFailureStreakStartedAt: null,
        quarantinedAt: null,
        quarantineReason: null,
      },
    );
    if (result.affected === 0) throw notFound('RUNNER_NOT_FOUND', 'runner', runnerId);
  }
}
