import type { EntityManager } from 'typeorm';
import { type PreparedStatement, preparedQuery } from '../database/prepared-query';
import { Study } from './study.entity';

interface StudyRowQueries {
  find: PreparedStatement;
  lock: PreparedStatement;
  /** Entity property ← result column, for every column but the engine snapshot. */
  columns: { property: string; column: string }[];
}

let queries: StudyRowQueries | undefined;

/** Built once from the entity's metadata, so a new column is selected without touching this file. */
function buildQueries(manager: EntityManager): StudyRowQueries {
  const columns = manager.dataSource
    .getMetadata(Study)
    .columns.filter((column) => column.propertyName !== 'engineState')
    .map((column) => ({ property: column.propertyName, column: column.databaseName }));
  const select = `SELECT ${columns.map(({ column }) => `"${column}"`).join(', ')} FROM studies WHERE id = $1`;
  return {
    find: { name: 'study-row-find', text: select },
    lock: { name: 'study-row-lock', text: `${select} FOR UPDATE` },
    columns,
  };
}

async function studyRow(manager: EntityManager, studyId: string, lock: boolean): Promise<Study | null> {
  queries ??= buildQueries(manager);
  const [row] = await preparedQuery<Record<string, unknown>>(manager, lock ? queries.lock : queries.find, [studyId]);
  if (row === undefined) return null;
  const study = new Study();
  for (const { property, column } of queries.columns)
    (study as unknown as Record<string, unknown>)[property] = row[column];
  return study;
}

/**
 * The study row without its engine snapshot (EngineStore reads that); null when there is none.
 * Prepared statements rather than TypeORM finds: every engine ask and every tell takes the lock,
 * and building the find's SQL cost more CPU than running it.
 */
export function findStudyRow(manager: EntityManager, studyId: string): Promise<Study | null> {
  return studyRow(manager, studyId, false);
}

/** `findStudyRow`, with the row locked FOR UPDATE. */
export function lockStudyRow(manager: EntityManager, studyId: string): Promise<Study | null> {
  return studyRow(manager, studyId, true);
}
