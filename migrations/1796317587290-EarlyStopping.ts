import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Early stopping (docs/algorithm.md, "Early stopping"): the study's policy, and per trial why it
 * stopped, the stopping decision, the run length its curve is measured against and the GPU-seconds
 * the runner reported. An early-stopped trial is a result to tell the engine, like a completed or
 * failed one, so the partial index of untold results covers it too.
 */
export class EarlyStopping1796317587290 implements MigrationInterface {
  name = 'EarlyStopping1796317587290';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE "studies" ADD "early_stopping" jsonb NOT NULL DEFAULT \'{"kind": "none"}\'::jsonb',
    );
    await queryRunner.query('ALTER TABLE "trials" ADD "stop_reason" character varying(32)');
    await queryRunner.query('ALTER TABLE "trials" ADD "early_stop" jsonb');
    await queryRunner.query('ALTER TABLE "trials" ADD "total_steps" double precision');
    await queryRunner.query('ALTER TABLE "trials" ADD "gpu_seconds" double precision');
    await queryRunner.query('DROP INDEX "public"."ix_trials_untold"');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_untold" ON "trials"  ("study_id", "finished_at") WHERE told = false AND (status IN (\'completed\', \'failed\') OR stop_reason = \'early_stopped\')',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."ix_trials_untold"');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_untold" ON "trials"  ("study_id", "finished_at") WHERE told = false AND status IN (\'completed\', \'failed\')',
    );
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "gpu_seconds"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "total_steps"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "early_stop"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "stop_reason"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "early_stopping"');
  }
}
