import { Injectable } from '@nestjs/common';
import { type EntityManager, In } from 'typeorm';
import type { SuggestionAlgorithm } from '../algorithms/algorithm';
import { MetricsService } from '../metrics/metrics.service';
import { mappingOf, restoreStudyAlgorithm, studyStopReason } from '../studies/study-engine';
import { Study } from '../studies/study.entity';
import { Trial } from './trial.entity';

/**
 * Turns finished trials into evaluations: tells the study's algorithm exactly once (trial.told)
 * and ends the study on budget or on the algorithm's stop. Callers hold the study row and the
 * trial row locked FOR UPDATE, in that order.
 */
@Injectable()
export class TrialOutcomes {
  constructor(private readonly metrics: MetricsService) {}

  /** `outputs` null = failed evaluation (NOMAD's EVAL_FAILED: counts, never re-evaluated). */
  async recordEvaluation(
    manager: EntityManager,
    study: Study,
    trial: Trial,
    outputs: Readonly<Record<string, number>> | null,
  ): Promise<void> {
    if (trial.told) return;
    const algorithm = restoreStudyAlgorithm(study);
    algorithm.tell([{ x: trial.point, outputs: outputs === null ? null : mappingOf(study).toEngineOutputs(outputs) }]);
    trial.told = true;
    study.evaluationCount += 1;
    study.engineState = algorithm.toJSON();
    await manager.getRepository(Trial).save(trial);
    await this.completeIfDone(manager, study, algorithm);
    await manager.getRepository(Study).save(study);
    this.metrics.finishedTrials.inc({ status: outputs === null ? 'failed' : 'completed' });
  }

  /** Ends an active or paused study when its budget is spent, or when the algorithm stopped and nothing is in flight. */
  async completeIfDone(manager: EntityManager, study: Study, algorithm: SuggestionAlgorithm): Promise<boolean> {
    if (study.status === 'completed' || study.status === 'stopped') return false;
    const trials = manager.getRepository(Trial);
    if (study.evaluationCount >= study.maxEvaluations) {
      study.stopReason = 'max_evaluations';
    } else if (algorithm.stopReason !== null) {
      const inFlight = await trials.countBy({ studyId: study.id, status: In(['pending', 'running']) });
      if (inFlight > 0) return false;
      study.stopReason = studyStopReason(algorithm.stopReason);
    } else {
      return false;
    }
    study.status = 'completed';
    study.completedAt = new Date();
    await trials.update({ studyId: study.id, status: 'pending' }, { status: 'stopped', finishedAt: new Date() });
    return true;
  }
}
