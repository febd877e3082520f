import type { EntityManager } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import { preparedQuery } from '../database/prepared-query';
import * as runnerStore from './runner-store';

/**
 * A runner's slots (`maxConcurrentTrials`), exact however many of its leases race: like the
 * project's quota (projects/project-trial-quota.ts), a transaction-scoped advisory lock keyed by
 * the runner makes the grants of one runner count and write one after the other. Every grant
 * takes it (the pending-trial path and `EngineService.askAndLease`), and so does reclamation
 * before it deletes a runner (runners.service.ts), so a runner it found without a lease cannot get
 * one before it is gone. Lock order: the study row, the project's lock, runner locks by id, then
 * trial and runner rows.
 */
export async function lockRunners(manager: EntityManager, runnerIds: readonly string[]): Promise<void> {
  for (const runnerId of [...new Set(runnerIds)].sort()) {
    await preparedQuery(
      manager,
      { name: 'runner-lease-lock', text: `SELECT pg_advisory_xact_lock(hashtextextended('runner:' || $1, 0))` },
      [runnerId],
    );
  }
}

/**
 * Of `runnerIds` (one entry per lease asked for; a runner may appear more than once), those that
 * may be granted a lease now, in order: each runner locked, then as many of its entries as it has
 * free slots. A runner that no longer exists gets none. `locked`: the runners this transaction
 * holds the lock of already (filled in). With `waitForNew` false, a runner not locked yet is only
 * tried (pg_try_advisory_xact_lock) and left out when another transaction holds it: a second
 * call of one transaction must not wait for a lock out of id order (a deadlock with another ask).
 */
export async function lockRunnerSlots(
  manager: EntityManager,
  runnerIds: readonly string[],
  locked: Set<string> = new Set(),
  waitForNew = true,
): Promise<string[]> {
  if (runnerIds.length === 0) return [];
  for (const runnerId of [...new Set(runnerIds)].sort()) {
    if (locked.has(runnerId)) continue;
    if (waitForNew) {
      await lockRunners(manager, [runnerId]);
    } else {
      const [{ taken }] = await preparedQuery<{ taken: boolean }>(
        manager,
        {
          name: 'runner-lease-try-lock',
          text: `SELECT pg_try_advisory_xact_lock(hashtextextended('runner:' || $1, 0)) AS taken`,
        },
        [runnerId],
      );
      if (!taken) continue;
    }
    locked.add(runnerId);
  }
  const mine = [...new Set(runnerIds)].filter((id) => locked.has(id));
  const slots = await runnerStore.slotsInUse(manager, mine);
  const free = new Map([...slots].map(([id, { slots: total, held }]) => [id, total - held]));
  return runnerIds.filter((id) => {
    const left = free.get(id) ?? 0;
    if (left <= 0) return false;
    free.set(id, left - 1);
    return true;
  });
}

/**
 * 409 RUNNER_LEASE_LIMIT: the runner holds as many leases as its slots. `trialIds` are the trials
 * it holds: a runner that lost track of them (restarted while training) can release them.
 */
export function leaseLimitReached(
  runnerId: string,
  limit: number,
  trialIds: readonly string[],
  retryAfterSeconds: number,
): DomainError {
  return new DomainError(
    'RUNNER_LEASE_LIMIT',
    `runner ${runnerId} holds ${trialIds.length} leases and may hold ${limit} at once (maxConcurrentTrials); ` +
      'report or release one before leasing again, or register the runner with a higher maxConcurrentTrials',
    { limit, held: trialIds.length, trialIds },
    retryAfterSeconds,
  );
}
