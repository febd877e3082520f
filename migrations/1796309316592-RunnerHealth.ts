import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RunnerHealth1796309316592 implements MigrationInterface {
  name = 'RunnerHealth1796309316592';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "runners" ADD "health" character varying(16) NOT NULL DEFAULT \'healthy\'');
    await queryRunner.query('ALTER TABLE "runners" ADD "failure_streak" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "runners" ADD "failure_streak_started_at" TIMESTAMP WITH TIME ZONE');
    await queryRunner.query('ALTER TABLE "runners" ADD "evaluation_failure_streak" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query(
      'ALTER TABLE "runners" ADD "evaluation_failure_streak_started_at" TIMESTAMP WITH TIME ZONE',
    );
    await queryRunner.query('ALTER TABLE "runners" ADD "last_failure" text');
    await queryRunner.query('ALTER TABLE "runners" ADD "last_failure_at" TIMESTAMP WITH TIME ZONE');
    await queryRunner.query('ALTER TABLE "runners" ADD "quarantined_at" TIMESTAMP WITH TIME ZONE');
    await queryRunner.query('ALTER TABLE "runners" ADD "quarantine_reason" text');
    await queryRunner.query('ALTER TABLE "trials" ADD "runner_failures" integer NOT NULL DEFAULT \'0\'');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "runner_failures"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "quarantine_reason"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "quarantined_at"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "last_failure_at"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "last_failure"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "evaluation_failure_streak_started_at"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "evaluation_failure_streak"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "failure_streak_started_at"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "failure_streak"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "health"');
  }
}
