import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a completed trial's result was measured with and where its trained adapter lies: the
 * runner's effective configuration (regime hash, GPU count and type, precision, library versions)
 * and the adapter's location, both reported on `complete` and stored with the outputs.
 */
export class TrialResultMetadata1796322761129 implements MigrationInterface {
  name = 'TrialResultMetadata1796322761129';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" ADD "effective_config" jsonb');
    await queryRunner.query('ALTER TABLE "trials" ADD "adapter" jsonb');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "adapter"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "effective_config"');
  }
}
