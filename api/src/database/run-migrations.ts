import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/**
 * Applies pending migrations as the schema's owner, on a connection of its own that is closed
 * before the API opens its pool: the API's role (no DDL rights on the embedded cluster) never
 * needs more than rows.
 */
export async function runMigrations(ownerUrl: string): Promise<void> {
  const dataSource = new DataSource({ ...dataSourceOptions(ownerUrl), extra: { max: 1 } });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
