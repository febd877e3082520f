import type { EntityManager } from 'typeorm';
import { preparedQuery } from '../database/prepared-query';
import { runningInProject } from '../trials/store/trial-store';

/**
 * A project's quota on running trials (`maxParallelTrials`), exact however many leases race:
 * in the lease's transaction, a transaction-scoped advisory lock keyed by the project makes the
 * leases of one quota-limited project count and grant one after the other (projects without a
 * quota never take it). Statements after the lock see every lease committed before it, so the
 * count is current. Lock order: the study row (engine path), then this lock, then trial rows.
 * Returns how many more trials may run now (≥ 0).
 */
export async function lockProjectTrialRoom(manager: EntityManager, projectId: string, quota: number): Promise<number> {
  await preparedQuery(
    manager,
    { name: 'project-lease-lock', text: `SELECT pg_advisory_xact_lock(hashtextextended('project:' || $1, 0))` },
    [projectId],
  );
  const running = await runningInProject(manager, projectId);
  return Math.max(0, quota - running);
}
