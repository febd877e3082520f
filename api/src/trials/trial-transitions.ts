import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../database/prepared-query';
import { isFinishedStudy } from '../studies/study-status';
import type { Study } from '../studies/study.entity';
import { TrialLease } from './trial-lease.entity';
import type { TrialRow } from './trial-row';
import type { EarlyStopRecord } from './trial-status';
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

/** The lease an early stop ends: the runner that holds it and its attempt, as the heartbeat saw them. */
export interface EarlyStop {
  trialId: string;
  runnerId: string;
  attempt: number;
  decision: EarlyStopRecord;
  now: Date;
}

/**
 * The early-stop transition, in one statement (so one transaction): a trial still running under
 * the same lease becomes terminal `stopped` with stop reason `early_stopped` and the decision
 * (last value, extrapolation, bound, threshold) stored; its lease ends (`early_stopped`); it is
 * left untold, a result like a completed or failed trial, and TrialOutcomes tells it to the
 * engine as an unsuccessful evaluation counted in the budget (docs/algorithm.md, "Early
 * stopping"). Null when the lease is no longer the one the decision was taken on (a report or an
 * expiry came first): nothing is written.
 */
export async function stopTrialEarly(manager: DataSource | EntityManager, stop: EarlyStop): Promise<TrialRow | null> {
  const rows = await preparedQuery<TrialRow>(
    manager,
    {
      name: 'trial-stop-early',
      text: `WITH target AS (
         SELECT id, attempt FROM trials
          WHERE id = $1 AND status = 'running' AND runner_id = $2 AND attempt = $3
          FOR UPDATE
       ), ended AS (
         UPDATE trial_leases l SET ended_at = $4, outcome = 'early_stopped'
           FROM target WHERE l.trial_id = target.id AND l.attempt = target.attempt
       )
       UPDATE trials t
          SET status = 'stopped', stop_reason = 'early_stopped', early_stop = $5::jsonb, told = false,
              outputs = NULL, error = NULL, finished_at = $4, lease_expires_at = NULL, updated_at = $4
         FROM target WHERE t.id = target.id
       RETURNING t.*`,
    },
    [stop.trialId, stop.runnerId, stop.attempt, stop.now, JSON.stringify(stop.decision)],
  );
  return rows[0] ?? null;
}
