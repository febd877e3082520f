import type { EntityManager } from 'typeorm';
import { isFinishedStudy } from '../studies/study-status';
import type { Study } from '../studies/study.entity';
import { TrialLease } from './trial-lease.entity';
import type { Trial } from './trial.entity';

/** Back to the queue for another lease (attempt + 1), or stopped when the study has ended. */
export function requeueTrial(trial: Trial, study: Pick<Study, 'status'>, now: Date = new Date()): void {
  const studyOver = isFinishedStudy(study.status);
  trial.status = studyOver ? 'stopped' : 'pending';
  trial.attempt += 1;
  trial.runnerId = null;
  trial.leaseExpiresAt = null;
  trial.progress = null;
  if (studyOver) trial.finishedAt = now;
}

/** Leases of a trial that ended without a result and used up an attempt (expired, or a retryable failure). */
export async function lostLeaseCount(manager: EntityManager, trialId: string): Promise<number> {
  return manager.getRepository(TrialLease).countBy([
    { trialId, outcome: 'expired' },
    { trialId, outcome: 'failed' },
  ]);
}
