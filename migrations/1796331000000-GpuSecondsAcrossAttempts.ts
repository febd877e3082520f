import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GPU-seconds summed over a trial's attempts (issue 17): a runner reports the GPU-seconds of its
 * own attempt, so what the attempts before the current one used is kept on the trial and added to
 * it. Existing trials start at 0 (their earlier attempts' figures were overwritten).
 */
export class GpuSecondsAcrossAttempts1796331000000 implements MigrationInterface {
  name = 'GpuSecondsAcrossAttempts1796331000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE "trials" ADD "gpu_seconds_earlier_attempts" double precision NOT NULL DEFAULT 0',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "gpu_seconds_earlier_attempts"');
  }
}
