import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Runner capacity (issue 19): a study may require a minimum GPU count and GPU memory per GPU of
 * the runners that lease its trials, and a trial that ran out of GPU memory (`fail` with kind
 * `resource`) is only leased again to runners with more memory per GPU than the one it ran out
 * on (`min_gpu_memory_mb`, the smallest memory that may still fit it).
 */
export class RunnerCapacity1796330000000 implements MigrationInterface {
  name = 'RunnerCapacity1796330000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "studies" ADD "required_runner_gpus" integer');
    await queryRunner.query('ALTER TABLE "studies" ADD "required_runner_gpu_memory_mb" integer');
    await queryRunner.query('ALTER TABLE "trials" ADD "min_gpu_memory_mb" integer');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "min_gpu_memory_mb"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "required_runner_gpu_memory_mb"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "required_runner_gpus"');
  }
}
