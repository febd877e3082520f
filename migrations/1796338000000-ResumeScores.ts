import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A paused trial's rank for the resume choice (`trials.resume_score`, early-stopping/
 * pause-and-resume.ts `resumeScore`), stored at the pause, and the paused trials' index extended
 * to it so that a resume reads the study's lowest score in one index read instead of fitting
 * every paused curve again (docs/reliability.md, finding 48). Trials paused before are left null:
 * the score is a curve fit, not SQL; the resume choice scores them from their curves.
 */
export class ResumeScores1796338000000 implements MigrationInterface {
  name = 'ResumeScores1796338000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" ADD "resume_score" double precision');
    await queryRunner.query('DROP INDEX "public"."ix_trials_study_paused"');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_study_paused" ON "trials" ("study_id", "resume_score", "finished_at", "number") WHERE status = \'paused\'',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."ix_trials_study_paused"');
    await queryRunner.query('CREATE INDEX "ix_trials_study_paused" ON "trials" ("study_id") WHERE status = \'paused\'');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "resume_score"');
  }
}
