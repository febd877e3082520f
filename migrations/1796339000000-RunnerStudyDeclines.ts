import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A runner's decline of a study it cannot run by its own settings (runners/runner-study-decline.entity.ts,
 * docs/reliability.md finding 49): the study is not leased to that runner for a while; removed with
 * the runner or the study.
 */
export class RunnerStudyDeclines1796339000000 implements MigrationInterface {
  name = 'RunnerStudyDeclines1796339000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "runner_study_declines" ("runner_id" uuid NOT NULL, "study_id" uuid NOT NULL, "reason" character varying(1000) NOT NULL, "declined_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_runner_study_declines" PRIMARY KEY ("runner_id", "study_id"))',
    );
    await queryRunner.query(
      'CREATE INDEX "ix_runner_study_declines_study_id" ON "runner_study_declines"  ("study_id") ',
    );
    await queryRunner.query(
      'ALTER TABLE "runner_study_declines" ADD CONSTRAINT "fk_runner_study_declines_runner" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "runner_study_declines" ADD CONSTRAINT "fk_runner_study_declines_study" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "runner_study_declines" DROP CONSTRAINT "fk_runner_study_declines_study"');
    await queryRunner.query('ALTER TABLE "runner_study_declines" DROP CONSTRAINT "fk_runner_study_declines_runner"');
    await queryRunner.query('DROP INDEX "public"."ix_runner_study_declines_study_id"');
    await queryRunner.query('DROP TABLE "runner_study_declines"');
  }
}
