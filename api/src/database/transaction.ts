import type { DataSource, EntityManager } from 'typeorm';
import { QueryFailedError } from 'typeorm';

/** PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back whole. */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const MAX_TRIES = 5;

function isRetryable(error: unknown): boolean {
  return error instanceof QueryFailedError && RETRYABLE_CODES.has((error.driverError as { code?: string }).code ?? '');
}

/**
 * Runs `work` again when PostgreSQL chose it as a deadlock victim (or refused it as a serialization
 * failure): what it wrote was rolled back whole, so running it again is safe. `work` must be a
 * whole transaction: one `dataSource.transaction`, or one statement outside any transaction.
 */
export async function retryingDeadlocks<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryable(error) || attempt >= MAX_TRIES) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, Math.random() * 10 * attempt));
    }
  }
}

/**
 * Runs `work` in a transaction and runs it again when PostgreSQL chose it as a deadlock victim:
 * nothing of a rolled-back attempt was written, so a retry is safe and the caller never sees a 500
 * for a lock cycle between concurrent leases and reports.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return retryingDeadlocks(() => dataSource.transaction(work));
}
