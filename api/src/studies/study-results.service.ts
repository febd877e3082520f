import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { Mads } from '../mads';
import { DomainError } from '../common/errors/domain-error';
import type { TrialResponseDto } from '../trials/dto/trial-response.dto';
import { toTrialResponse } from '../trials/trial-response.mapper';
import { Trial } from '../trials/trial.entity';
import type { EngineStateResponseDto } from './dto/study-results.dto';
import { StudiesService } from './studies.service';
import { EngineStore } from './engine/engine-store';
import { compareScores, score } from './study-results';

@Injectable()
export class StudyResultsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engines: EngineStore,
  ) {}

  /** The best completed trial: feasible ones first by objective, else the least infeasible. */
  async best(studyId: string): Promise<TrialResponseDto> {
    const study = await this.studies.findOrThrow(studyId);
    const completed = await this.dataSource
      .getRepository(Trial)
      .find({ where: { studyId, status: 'completed' }, order: { number: 'ASC' } });
    let best: Trial | null = null;
    let bestScore = null;
    for (const trial of completed) {
      const current = score(trial.outputs ?? {}, study.outputs);
      if (bestScore === null || compareScores(current, bestScore) < 0) {
        best = trial;
        bestScore = current;
      }
    }
    if (best === null) throw new DomainError('NOT_FOUND', `study ${studyId} has no completed trial yet`);
    return toTrialResponse(best);
  }

  /** Finished trials (completed, failed) in the order they finished. */
  async history(studyId: string): Promise<TrialResponseDto[]> {
    await this.studies.findOrThrow(studyId);
    const trials = await this.dataSource.getRepository(Trial).find({
      where: { studyId, status: In(['completed', 'failed']) },
      order: { finishedAt: 'ASC', number: 'ASC' },
    });
    return trials.map((trial) => toTrialResponse(trial));
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
