import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Projects (tenancy): every study, runner and non-admin key belongs to one. Everything that
 * existed before goes to the default project (id and name as in api/src/projects/project.entity.ts),
 * so single-team use goes on unchanged: its keys see its studies and runners as before.
 */
export class Projects1796318090655 implements MigrationInterface {
  name = 'Projects1796318090655';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "projects" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(100) NOT NULL, "max_active_studies" integer, "max_parallel_trials" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_6271df0a7aed1d6c0691ce6ac50" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_projects_name" ON "projects"  ("name") ');
    await queryRunner.query(
      `INSERT INTO "projects" ("id", "name") VALUES ('00000000-0000-4000-8000-000000000001', 'default')`,
    );
    // Existing rows get the default project, then the column becomes required.
    await queryRunner.query('ALTER TABLE "runners" ADD "project_id" uuid');
    await queryRunner.query(`UPDATE "runners" SET "project_id" = '00000000-0000-4000-8000-000000000001'`);
    await queryRunner.query('ALTER TABLE "runners" ALTER COLUMN "project_id" SET NOT NULL');
    await queryRunner.query('ALTER TABLE "api_keys" ADD "project_id" uuid');
    // Admin keys keep none: they see every project.
    await queryRunner.query(
      `UPDATE "api_keys" SET "project_id" = '00000000-0000-4000-8000-000000000001' WHERE "scope" <> 'admin'`,
    );
    await queryRunner.query('ALTER TABLE "studies" ADD "project_id" uuid');
    await queryRunner.query(`UPDATE "studies" SET "project_id" = '00000000-0000-4000-8000-000000000001'`);
    await queryRunner.query('ALTER TABLE "studies" ALTER COLUMN "project_id" SET NOT NULL');
    await queryRunner.query('ALTER TABLE "studies" ADD "required_runner_labels" jsonb NOT NULL DEFAULT \'[]\'');
    await queryRunner.query('CREATE INDEX "ix_runners_project_id" ON "runners"  ("project_id") ');
    await queryRunner.query('CREATE INDEX "ix_api_keys_project_id" ON "api_keys"  ("project_id") ');
    await queryRunner.query('CREATE INDEX "ix_studies_project_status" ON "studies"  ("project_id", "status") ');
    await queryRunner.query(
      'ALTER TABLE "runners" ADD CONSTRAINT "FK_280e37e465b855f82b8743b5f5c" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "api_keys" ADD CONSTRAINT "FK_f5de07dbb229225e2be643ff3d0" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "studies" ADD CONSTRAINT "FK_85e360590ffcda0eaa05d3a7143" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "studies" DROP CONSTRAINT "FK_85e360590ffcda0eaa05d3a7143"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP CONSTRAINT "FK_f5de07dbb229225e2be643ff3d0"');
    await queryRunner.query('ALTER TABLE "runners" DROP CONSTRAINT "FK_280e37e465b855f82b8743b5f5c"');
    await queryRunner.query('DROP INDEX "public"."ix_studies_project_status"');
    await queryRunner.query('DROP INDEX "public"."ix_api_keys_project_id"');
    await queryRunner.query('DROP INDEX "public"."ix_runners_project_id"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "required_runner_labels"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "project_id"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP COLUMN "project_id"');
    await queryRunner.query('ALTER TABLE "runners" DROP COLUMN "project_id"');
    await queryRunner.query('DROP INDEX "public"."uq_projects_name"');
    await queryRunner.query('DROP TABLE "projects"');
  }
}
