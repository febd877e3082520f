import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Mads } from '../mads';
import { DomainError } from '../common/errors/domain-error';
import { preparedQuery } from '../database/prepared-query';
import type { TrialResponseDto } from '../trials/dto/trial-response.dto';
import { toTrialResponse } from '../trials/trial-response.mapper';
import { trialFromRow, type TrialRow } from '../trials/trial-row';
import type { Trial } from '../trials/trial.entity';
import type { EngineStateResponseDto } from './dto/study-results.dto';
import { StudiesService } from './studies.service';
import { EngineStore } from './engine/engine-store';

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
    private readonly engines: EngineStore,
  ) {}

  /**
   * The best evaluated trial by the engine's reading stored at tell time (TrialOutcomes): feasible
   * ones (h = 0) by objective, else the least infeasible, then by objective; one row of
   * ix_trials_best, whatever the number of trials.
   */
  async best(studyId: string): Promise<TrialResponseDto> {
    await this.studies.findOrThrow(studyId);
    const rows = await preparedQuery<TrialRow>(
      this.dataSource,
      {
        name: 'study-best-trial',
        text: `SELECT * FROM trials WHERE study_id = $1 AND infeasibility IS NOT NULL
                ORDER BY infeasibility, objective, number LIMIT 1`,
      },
      [studyId],
    );
    if (rows.length === 0) throw new DomainError('NOT_FOUND', `study ${studyId} has no completed trial yet`);
    return toTrialResponse(trialFromRow(rows[0]));
  }

  /** One page of the finished trials in the order the engine was told them, after evaluation `after`. */
  async historyPage(studyId: string, after: number, limit: number): Promise<HistoryPage> {
    await this.studies.findOrThrow(studyId);
    const trials = await this.historyAfter(studyId, after, limit + 1);
    const items = trials.slice(0, limit);
    const next = trials.length > limit ? items[items.length - 1].evaluationNumber : null;
    return { items: items.map((trial) => toTrialResponse(trial)), next };
  }

  /** Every finished trial in evaluation order, a batch per statement (exports stream these). */
  async *historyBatches(studyId: string): AsyncGenerator<TrialResponseDto[]> {
    let after = 0;
    for (;;) {
      const trials = await this.historyAfter(studyId, after, EXPORT_BATCH);
      if (trials.length === 0) return;
      yield trials.map((trial) => toTrialResponse(trial));
      if (trials.length < EXPORT_BATCH) return;
      after = trials[trials.length - 1].evaluationNumber ?? after;
    }
  }

  private async historyAfter(studyId: string, after: number, limit: number): Promise<Trial[]> {
    const rows = await preparedQuery<TrialRow>(
      this.dataSource,
      {
        name: 'study-history-page',
        text: `SELECT * FROM trials WHERE study_id = $1 AND evaluation_number > $2
                ORDER BY evaluation_number LIMIT $3`,
      },
      [studyId, after, limit],
    );
    return rows.map(trialFromRow);
  }

  async engine(studyId: string): Promise<EngineStateResponseDto> {
    return this.engines.read(studyId, (algorithm, study) => {
      const mads = algorithm instanceof Mads ? algorithm : null;
      return {
        algorithm: study.algorithm,
        iteration: mads?.iteration ?? null,
        frameSize: mads?.frameSize() ?? null,
        meshSize: mads?.meshSize() ?? null,
        stopReason: algorithm.stopReason?.kind ?? null,
        evaluationCount: mads?.evaluationCount ?? study.evaluationCount,
      };
    });
  }
}
