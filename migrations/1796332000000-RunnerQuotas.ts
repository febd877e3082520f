import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Runner slots and the project's runner quota (docs/reliability.md, finding "runners hoarding
 * leases or flooding the runner table"): a runner holds at most `max_concurrent_trials` open
 * leases (existing runners get the default, 16), a project at most `max_runners` runners
 * (existing projects get the default, 1000; a project that has more keeps them, and its next
 * registration first reclaims stale runners). The partial index serves the per-runner count of
 * running trials that both read.
 */
export class RunnerQuotas1796332000000 implements MigrationInterface {
  name = 'RunnerQuotas1796332000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "runners" ADD "max_concurrent_trials" integer NOT NULL DEFAULT 16');
    await queryRunner.query('ALTER TABLE "projects" ADD "max_runners" integer NOT NULL DEFAULT 1000');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_runner_running" ON "trials"  ("runner_id") WHERE status = \'running\'',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."ix_trials_runner_running"');
    await queryRunner.query('ALTER TABLE "projects" DROP COLUMN "max_runners"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "max_concurrent_trials"');
  }
}
