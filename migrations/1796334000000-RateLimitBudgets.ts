import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The request budgets' shared counts for MESHTUNE_RATE_LIMIT_STORE=postgres
 * (api/src/rate-limit/request-budgets.ts): the table rate-limiter-flexible's RateLimiterPostgres
 * expects (`key` = budget:subject, points spent in the window, the window's end in epoch ms). Not an
 * entity: only that library reads and writes it. Expired rows are deleted by the library every 5
 * minutes (an hour after they expire). UNLOGGED: every request upserts a row here, and a logged
 * table made each of them wait for a WAL flush (docs/benchmarks.md, "Shared rate limit store");
 * counts lost in a crash only refill the budgets early.
 */
export class RateLimitBudgets1796334000000 implements MigrationInterface {
  name = 'RateLimitBudgets1796334000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE UNLOGGED TABLE "rate_limit_budgets" ("key" varchar(255) PRIMARY KEY, "points" integer NOT NULL DEFAULT 0, "expire" bigint)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "rate_limit_budgets"');
  }
}
