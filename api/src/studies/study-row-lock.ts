import type { EntityManager } from 'typeorm';
import { type PreparedStatement, preparedQuery } from '../database/prepared-query';
import { Study } from './study.entity';

interface LockQuery {
  statement: PreparedStatement;
  /** Entity property ← result column, for every column but the engine snapshot. */
  columns: { property: string; column: string }[];
}

let lockQuery: LockQuery | undefined;

/** Built once from the entity's metadata, so a new column is selected without touching this file. */
function buildLockQuery(manager: EntityManager): LockQuery {
  const columns = manager.dataSource
    .getMetadata(Study)
    .columns.filter((column) => column.propertyName !== 'engineState')
    .map((column) => ({ property: column.propertyName, column: column.databaseName }));
  const list = columns.map(({ column }) => `"${column}"`).join(', ');
  return {
    statement: { name: 'study-row-lock', text: `SELECT ${list} FROM studies WHERE id = $1 FOR UPDATE` },
    columns,
  };
}

/**
 * The study row locked FOR UPDATE, without its engine snapshot; null when there is none. A
 * prepared statement rather than a TypeORM find: every engine ask and every tell takes this lock,
 * and building the find's SQL cost more CPU than running it.
 */
export async function lockStudyRow(manager: EntityManager, studyId: string): Promise<Study | null> {
  lockQuery ??= buildLockQuery(manager);
  const [row] = await preparedQuery<Record<string, unknown>>(manager, lockQuery.statement, [studyId]);
  if (row === undefined) return null;
  const study = new Study();
  for (const { property, column } of lockQuery.columns)
    (study as unknown as Record<string, unknown>)[property] = row[column];
  return study;
}
