import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The project's quota on stored studies of every status (docs/reliability.md, finding 27): a
 * project keeps at most `max_stored_studies` studies; deleting a finished one
 * (`DELETE /v1/studies/{id}`) frees room. Existing projects get the default, 1000; a project that
 * stores more keeps them, and its next creation is refused until it deletes enough. The
 * per-project count reads the existing index ix_studies_project_status (project_id leads).
 */
export class StoredStudyQuota1796335000000 implements MigrationInterface {
  name = 'StoredStudyQuota1796335000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "projects" ADD "max_stored_studies" integer NOT NULL DEFAULT 1000');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "projects" DROP COLUMN "max_stored_studies"');
  }
}
