import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stopping that can be undone (docs/algorithm.md, "Early stopping: pause and resume"): a trial
 * `paused` (the status column is a varchar without a CHECK, so the new state needs no change there)
 * may be resumed; `resumes` counts its resumes (its result is then told again without a new
 * evaluation); the study counts the told results in a row that did not improve the incumbent (the
 * resume trigger); the paused trials of a study are found through their own partial index.
 */
export class PausedTrials1796333000000 implements MigrationInterface {
  name = 'PausedTrials1796333000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" ADD "resumes" integer NOT NULL DEFAULT 0');
    await queryRunner.query('ALTER TABLE "studies" ADD "trials_without_improvement" integer NOT NULL DEFAULT 0');
    await queryRunner.query('CREATE INDEX "ix_trials_study_paused" ON "trials" ("study_id") WHERE status = \'paused\'');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."ix_trials_study_paused"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "trials_without_improvement"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "resumes"');
  }
}
