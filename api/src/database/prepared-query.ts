import type { Pool, PoolClient } from 'pg';
import { type DataSource, EntityManager, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { retryingDeadlocks } from './transaction';

/** A hot-path statement, parsed and planned once per connection under its name. */
export interface PreparedStatement {
  name: string;
  text: string;
}

/**
 * Runs a statement that returns rows (a SELECT, or a WITH … SELECT) as a named prepared statement,
 * so PostgreSQL plans it once per connection rather than at every call: measured under the
 * service benchmark, planning the lease, heartbeat and report statements was about half of the
 * database's CPU per trial. `executor` is a transaction's EntityManager (its connection is used)
 * or the DataSource (any pooled connection). Failures are TypeORM's QueryFailedError, as from
 * `manager.query`, so deadlock retries and the error filter treat them alike.
 */
export async function preparedQuery<T>(
  executor: DataSource | EntityManager,
  statement: PreparedStatement,
  values: unknown[],
): Promise<T[]> {
  const run = async (): Promise<T[]> => {
    const connection = await connectionOf(executor);
    try {
      const result = await connection.query({ name: statement.name, text: statement.text, values });
      return result.rows as T[];
    } catch (error) {
      throw new QueryFailedError(statement.text, values, error as Error);
    }
  };
  // Outside a transaction the statement is its own transaction: one chosen as a deadlock victim
  // (a heartbeat or a result beside a sweep or a lease, each locking the same rows in another
  // order) was rolled back whole and is run again, as inTransaction runs a transaction again,
  // rather than answered 500 (docs/reliability.md, finding 71). Inside one, the caller's
  // inTransaction retries the whole transaction.
  return inTransactionOf(executor) ? run() : retryingDeadlocks(run);
}

function inTransactionOf(executor: DataSource | EntityManager): boolean {
  return executor instanceof EntityManager && executor.queryRunner?.isTransactionActive === true;
}

async function connectionOf(executor: DataSource | EntityManager): Promise<Pool | PoolClient> {
  if (executor instanceof EntityManager) {
    if (executor.queryRunner !== undefined) {
      return (await (executor.queryRunner as PostgresQueryRunner).connect()) as PoolClient;
    }
    return (executor.dataSource.driver as PostgresDriver).master as Pool;
  }
  return (executor.driver as PostgresDriver).master as Pool;
}
