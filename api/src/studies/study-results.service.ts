import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import { EngineService } from '../engine/engine.service';
import type { TrialResponseDto } from '../trials/dto/trial-response.dto';
import * as trialStore from '../trials/store/trial-store';
import { toTrialResponse } from '../trials/trial-response.mapper';
import type { EngineStateResponseDto } from './dto/study-results.dto';
import { StudiesService } from './studies.service';

/** Rows per statement while an export streams: memory stays one batch, whatever the history's length. */
const EXPORT_BATCH = 1000;

export interface HistoryPage {
  items: TrialResponseDto[];
  /** Evaluation number of the last item when more follow, else null. */
  next: number | null;
}

@Injectable()
export class StudyResultsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engines: EngineService,
  ) {}

  /**
   * The best evaluated trial by the engine's reading stored at tell time (EngineService): feasible
   * ones (h = 0) by objective, else the least infeasible, then by objective; one row of
   * ix_trials_best, whatever the number of trials.
   */
  async best(studyId: string): Promise<TrialResponseDto> {
    await this.studies.findOrThrow(studyId);
    const trial = await trialStore.best(this.dataSource, studyId);
    if (trial === null) throw new DomainError('NOT_FOUND', `study ${studyId} has no completed trial yet`);
    return toTrialResponse(trial);
  }

  /**
   * One page of the finished trials in the order the engine was told them, after evaluation
   * `after`: `limit` of them, or fewer when they pass PAGE_BYTES (then `next` goes on).
   */
  async historyPage(studyId: string, after: number, limit: number): Promise<HistoryPage> {
    await this.studies.findOrThrow(studyId);
    const { trials, cut } = await trialStore.historyAfter(this.dataSource, studyId, after, limit + 1);
    const items = trials.slice(0, limit);
    const next = cut || trials.length > limit ? items[items.length - 1].evaluationNumber : null;
    return { items: items.map((trial) => toTrialResponse(trial)), next };
  }

  /**
   * Every finished trial in evaluation order, a batch per statement (exports stream these): at most
   * EXPORT_BATCH rows and PAGE_BYTES in memory at a time.
   */
  async *historyBatches(studyId: string): AsyncGenerator<TrialResponseDto[]> {
    let after = 0;
    // PostgreSQL measures every row a statement reads before the bytes cut the batch: after a cut,
    // read about twice what fitted, not EXPORT_BATCH rows for a few dozen kept.
    let rows = EXPORT_BATCH;
    for (;;) {
      const { trials, cut } = await trialStore.historyAfter(this.dataSource, studyId, after, rows);
      if (trials.length === 0) return;
      yield trials.map((trial) => toTrialResponse(trial));
      if (!cut && trials.length < rows) return;
      rows = Math.min(EXPORT_BATCH, 2 * (cut ? trials.length : rows));
      after = trials[trials.length - 1].evaluationNumber ?? after;
    }
  }

  async engine(studyId: string): Promise<EngineStateResponseDto> {
    const { study, figures, stopReason } = await this.engines.read(studyId);
    return {
      algorithm: study.algorithm,
      iteration: figures.iteration,
      frameSize: figures.frameSize,
      meshSize: figures.meshSize,
      stopReason: stopReason?.kind ?? null,
      evaluationCount: study.algorithm === 'mads' ? figures.evaluationCount : study.evaluationCount,
    };
  }
}
