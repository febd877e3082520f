import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { ENTITIES } from './entities';
import { DATABASE_POOL_SIZE } from './pool-size';

/** The one description of the database: entities, migrations (run-migrations.ts, as the owner), never synchronize. */
export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+, so no extension is needed.
    uuidExtension: 'pgcrypto',
    logging: ['error', 'warn', 'migration'],
    extra: { max: DATABASE_POOL_SIZE },
  };
}
