import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { startEmbeddedPostgres } from './embedded-postgres';

/**
 * Applies every migration to an empty embedded PostgreSQL, then asks TypeORM which statements
 * would make the schema match the entities. None ⇒ entities and migrations agree (CI fails
 * otherwise). `--write Name` writes those statements as a new migration instead.
 */
async function main(): Promise<void> {
  const writeIndex = process.argv.indexOf('--write');
  const name = writeIndex >= 0 ? process.argv[writeIndex + 1] : null;
  const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-migrations-'));
  const database = await startEmbeddedPostgres(dataDir, null);
  let exitCode = 0;
  try {
    const dataSource = new DataSource({ ...dataSourceOptions(database.ownerUrl), logging: false });
    await dataSource.initialize();
    await dataSource.runMigrations();
    const sql = await dataSource.driver.createSchemaBuilder().log();
    await dataSource.destroy();
    if (sql.upQueries.length === 0) {
      process.stdout.write('migrations: entities and migrations agree\n');
    } else if (name !== null && name !== undefined) {
      const timestamp = Date.now();
      const className = `${name}${timestamp}`;
      const up = sql.upQueries
        .map((query) => `    await queryRunner.query(${JSON.stringify(query.query)});`)
        .join('\n');
      const down = sql.downQueries
        .reverse()
        .map((query) => `    await queryRunner.query(${JSON.stringify(query.query)});`)
        .join('\n');
      const file = join(process.cwd(), 'migrations', `${timestamp}-${name}.ts`);
      writeFileSync(
        file,
        `import type { MigrationInterface, QueryRunner } from 'typeorm';\n\nexport class ${className} implements MigrationInterface {\n  name = '${className}';\n\n  async up(queryRunner: QueryRunner): Promise<void> {\n${up}\n  }\n\n  async down(queryRunner: QueryRunner): Promise<void> {\n${down}\n  }\n}\n`,
      );
      process.stdout.write(`migrations: wrote ${file}; add it to migrations/index.ts\n`);
    } else {
      process.stderr.write('migrations: the entities differ from the migrations; the missing statements are:\n');
      for (const query of sql.upQueries) process.stderr.write(`  ${query.query};\n`);
      process.stderr.write('run `npm run migration:generate -- <Name>` to write them as a migration\n');
      exitCode = 1;
    }
  } finally {
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

void main();
