import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { EngineService } from '../engine/engine.service';
import * as trialStore from './store/trial-store';

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
    private readonly engine: EngineService,
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
    const expired = await trialStore.expiredLeases(this.dataSource, now, SWEEP_BATCH);
    const byStudy = new Map<string, string[]>();
    for (const trial of expired) byStudy.set(trial.studyId, [...(byStudy.get(trial.studyId) ?? []), trial.id]);
    let handled = 0;
    for (const [studyId, trialIds] of byStudy) handled += await this.engine.expireLeases(studyId, trialIds, now);
    await this.tellStragglers(now);
    if (handled > 0) this.logger.log({ message: 'expired leases handled', count: handled });
    return handled;
  }

  /** Studies with results stored more than a sweep interval ago and still not told. */
  private async tellStragglers(now: Date): Promise<void> {
    const studies = await trialStore.studiesWithUntoldBefore(
      this.dataSource,
      new Date(now.getTime() - this.config.leaseSweepIntervalMs),
    );
    for (const studyId of studies) await this.engine.tellStored(studyId);
  }
}
