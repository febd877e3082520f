import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EngineEvents1795867128744 implements MigrationInterface {
  name = 'EngineEvents1795867128744';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "engine_events" ("study_id" uuid NOT NULL, "version" integer NOT NULL, "operation" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_44f5923d86246cd193864de2ae8" PRIMARY KEY ("study_id", "version"))',
    );
    await queryRunner.query('ALTER TABLE "studies" ADD "engine_version" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "studies" ADD "engine_snapshot_version" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_untold" ON "trials"  ("study_id", "finished_at") WHERE told = false AND status IN (\'completed\', \'failed\')',
    );
    await queryRunner.query(
      'CREATE INDEX "ix_trials_study_running" ON "trials"  ("study_id") WHERE status = \'running\'',
    );
    await queryRunner.query(
      'CREATE INDEX "ix_trials_study_pending" ON "trials"  ("study_id", "created_at", "number") WHERE status = \'pending\'',
    );
    await queryRunner.query(
      'ALTER TABLE "engine_events" ADD CONSTRAINT "FK_d78198d5d872b20b2fa4de7a915" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "engine_events" DROP CONSTRAINT "FK_d78198d5d872b20b2fa4de7a915"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_study_pending"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_study_running"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_untold"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "engine_snapshot_version"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "engine_version"');
    await queryRunner.query('DROP TABLE "engine_events"');
  }
}
