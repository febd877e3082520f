import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { EngineStore } from '../studies/engine/engine-store';
import { StudyChanges } from '../studies/study-changes';
import { TrialLease } from './trial-lease.entity';
import { TrialOutcomes } from './trial-outcomes';
import { UNTOLD_RESULT } from './trial-status';
import { Trial } from './trial.entity';
import { lostLeaseCount, requeueTrial } from './trial-transitions';

const SWEEP_BATCH = 200;

/**
 * Returns trials whose lease expired (runner crashed or lost) to `pending` with attempt + 1, or
 * fails them once the study's max attempts are used up — a failed evaluation the engine is told.
 * Also tells engines results stored but not told yet (an API process that died between storing a
 * report and telling it). Safe with several API replicas: each study is handled with its row
 * locked and conditions re-read.
 */
@Injectable()
export class LeaseSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LeaseSweeper');
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly engines: EngineStore,
    private readonly changes: StudyChanges,
    private readonly outcomes: TrialOutcomes,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.sweeping !== null) return;
      this.sweep()
        .catch((error: unknown) => this.logger.error({ message: 'lease sweep failed', error: String(error) }))
        .finally(() => undefined);
    }, this.config.leaseSweepIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
  }

  /** One pass; returns how many expired leases it handled. */
  sweep(now: Date = new Date()): Promise<number> {
    this.sweeping ??= this.sweepOnce(now).finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepOnce(now: Date): Promise<number> {
    const expired = await this.dataSource.getRepository(Trial).find({
      select: { id: true, studyId: true },
      where: { status: 'running', leaseExpiresAt: LessThan(now) },
      order: { leaseExpiresAt: 'ASC' },
      take: SWEEP_BATCH,
    });
    const byStudy = new Map<string, string[]>();
    for (const trial of expired) byStudy.set(trial.studyId, [...(byStudy.get(trial.studyId) ?? []), trial.id]);
    let handled = 0;
    for (const [studyId, trialIds] of byStudy) {
      handled += await this.engines.withLockedStudy(studyId, async (manager, study, engine) => {
        const trials = await manager.getRepository(Trial).find({
          where: { id: In(trialIds), status: 'running', leaseExpiresAt: LessThan(now) },
          order: { number: 'ASC' },
          lock: { mode: 'pessimistic_write' },
        });
        for (const trial of trials) {
          this.metrics.leaseExpiries.inc();
          await manager
            .getRepository(TrialLease)
            .update({ trialId: trial.id, attempt: trial.attempt }, { endedAt: now, outcome: 'expired' });
          const lost = await lostLeaseCount(manager, trial.id);
          if (lost >= study.maxAttempts) {
            trial.status = 'failed';
            trial.error = `lease expired ${lost} time(s) without a result (max attempts ${study.maxAttempts})`;
            trial.finishedAt = now;
            trial.leaseExpiresAt = null;
          } else {
            requeueTrial(trial, study, now);
          }
          await manager.getRepository(Trial).save(trial);
        }
        await this.outcomes.tellFinished(manager, study, engine);
        return trials.length;
      });
      this.changes.notify(studyId);
    }
    await this.tellStragglers(now);
    if (handled > 0) this.logger.log({ message: 'expired leases handled', count: handled });
    return handled;
  }

  /** Studies with results stored more than a sweep interval ago and still not told. */
  private async tellStragglers(now: Date): Promise<void> {
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT study_id FROM trials
        WHERE ${UNTOLD_RESULT} AND finished_at < $1`,
      [new Date(now.getTime() - this.config.leaseSweepIntervalMs)],
    )) as { study_id: string }[];
    for (const row of rows) await this.outcomes.flush(row.study_id);
  }
}
