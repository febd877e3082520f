import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764316800000 implements MigrationInterface {
  name = 'InitialSchema1764316800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "runners" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(200) NOT NULL, "gpus" integer NOT NULL DEFAULT \'0\', "gpu_memory_mb" integer, "labels" jsonb NOT NULL, "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9b52b801361edc6a1f4dcd390c4" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(200) NOT NULL, "scope" character varying(16) NOT NULL, "key_hash" character(64) NOT NULL, "key_prefix" character varying(16) NOT NULL, "runner_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_api_keys_key_hash" ON "api_keys"  ("key_hash") ');
    await queryRunner.query('CREATE INDEX "ix_api_keys_runner_id" ON "api_keys"  ("runner_id") ');
    await queryRunner.query(
      'CREATE TABLE "studies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(200) NOT NULL, "description" text, "status" character varying(16) NOT NULL, "stop_reason" character varying(32), "parameters" jsonb NOT NULL, "derived" jsonb NOT NULL, "outputs" jsonb NOT NULL, "x0" jsonb NOT NULL, "max_evaluations" integer NOT NULL, "max_parallel_trials" integer NOT NULL, "max_attempts" integer NOT NULL, "lease_seconds" integer NOT NULL, "algorithm" character varying(16) NOT NULL, "algorithm_options" jsonb NOT NULL, "seed" integer NOT NULL, "training_config" jsonb NOT NULL, "engine_state" jsonb NOT NULL, "next_trial_number" integer NOT NULL DEFAULT \'1\', "evaluation_count" integer NOT NULL DEFAULT \'0\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_b100ff0c4a0ad02a9c2270d45b6" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "ix_studies_status_created_at" ON "studies"  ("status", "created_at") ');
    await queryRunner.query(
      'CREATE TABLE "trials" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "study_id" uuid NOT NULL, "number" integer NOT NULL, "status" character varying(16) NOT NULL, "origin" character varying(16) NOT NULL, "point" jsonb NOT NULL, "point_key" text NOT NULL, "parameters" jsonb NOT NULL, "attempt" integer NOT NULL DEFAULT \'1\', "runner_id" uuid, "lease_expires_at" TIMESTAMP WITH TIME ZONE, "progress" double precision, "outputs" jsonb, "error" text, "report_hash" character(64), "told" boolean NOT NULL DEFAULT false, "last_heartbeat_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_afe5dc86ce7253d239c3dfea2d3" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "ix_trials_runner_id" ON "trials"  ("runner_id") ');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_running_lease" ON "trials"  ("lease_expires_at") WHERE status = \'running\'',
    );
    await queryRunner.query('CREATE INDEX "ix_trials_pending" ON "trials"  ("created_at") WHERE status = \'pending\'');
    await queryRunner.query('CREATE INDEX "ix_trials_study_status" ON "trials"  ("study_id", "status") ');
    await queryRunner.query('CREATE UNIQUE INDEX "uq_trials_study_point_key" ON "trials"  ("study_id", "point_key") ');
    await queryRunner.query('CREATE UNIQUE INDEX "uq_trials_study_number" ON "trials"  ("study_id", "number") ');
    await queryRunner.query(
      'CREATE TABLE "trial_leases" ("id" BIGSERIAL NOT NULL, "trial_id" uuid NOT NULL, "attempt" integer NOT NULL, "runner_id" uuid NOT NULL, "leased_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ended_at" TIMESTAMP WITH TIME ZONE, "outcome" character varying(16), CONSTRAINT "PK_85978fe710e62f41841eaca7746" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "ix_trial_leases_runner_id" ON "trial_leases"  ("runner_id") ');
    await queryRunner.query(
      'CREATE UNIQUE INDEX "uq_trial_leases_trial_attempt" ON "trial_leases"  ("trial_id", "attempt") ',
    );
    await queryRunner.query(
      'CREATE TABLE "trial_metrics" ("id" BIGSERIAL NOT NULL, "trial_id" uuid NOT NULL, "name" character varying(100) NOT NULL, "step" integer NOT NULL, "value" double precision NOT NULL, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1fa67c16a6f3cb66677e3f8cb5c" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE UNIQUE INDEX "uq_trial_metrics_trial_name_step" ON "trial_metrics"  ("trial_id", "name", "step") ',
    );
    await queryRunner.query(
      'ALTER TABLE "api_keys" ADD CONSTRAINT "FK_49eac4896fc3eee0f0e15e67877" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "trials" ADD CONSTRAINT "FK_d937d55fc4dd7fcb4802a83f321" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "trials" ADD CONSTRAINT "FK_8edef9c619be47a1d8d31020888" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE SET NULL ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "trial_leases" ADD CONSTRAINT "FK_25ea9e3cb7948ab4fbe61494ccb" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "trial_metrics" ADD CONSTRAINT "FK_0a3c991e101adf01c488fb40235" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trial_metrics" DROP CONSTRAINT "FK_0a3c991e101adf01c488fb40235"');
    await queryRunner.query('ALTER TABLE "trial_leases" DROP CONSTRAINT "FK_25ea9e3cb7948ab4fbe61494ccb"');
    await queryRunner.query('ALTER TABLE "trials" DROP CONSTRAINT "FK_8edef9c619be47a1d8d31020888"');
    await queryRunner.query('ALTER TABLE "trials" DROP CONSTRAINT "FK_d937d55fc4dd7fcb4802a83f321"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP CONSTRAINT "FK_49eac4896fc3eee0f0e15e67877"');
    await queryRunner.query('DROP INDEX "public"."uq_trial_metrics_trial_name_step"');
    await queryRunner.query('DROP TABLE "trial_metrics"');
    await queryRunner.query('DROP INDEX "public"."uq_trial_leases_trial_attempt"');
    await queryRunner.query('DROP INDEX "public"."ix_trial_leases_runner_id"');
    await queryRunner.query('DROP TABLE "trial_leases"');
    await queryRunner.query('DROP INDEX "public"."uq_trials_study_number"');
    await queryRunner.query('DROP INDEX "public"."uq_trials_study_point_key"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_study_status"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_pending"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_running_lease"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_runner_id"');
    await queryRunner.query('DROP TABLE "trials"');
    await queryRunner.query('DROP INDEX "public"."ix_studies_status_created_at"');
    await queryRunner.query('DROP TABLE "studies"');
    await queryRunner.query('DROP INDEX "public"."ix_api_keys_runner_id"');
    await queryRunner.query('DROP INDEX "public"."uq_api_keys_key_hash"');
    await queryRunner.query('DROP TABLE "api_keys"');
    await queryRunner.query('DROP TABLE "runners"');
  }
}
