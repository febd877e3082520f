import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A study's budget in GPU-hours (`budget.maxGpuHours`, docs/algorithm.md "Budgets: evaluations and
 * GPU-hours") and the running total it is checked against.
 *
 * The total lives in a table of its own, one row per study, kept by a trigger on
 * `trials.gpu_seconds`: every statement that writes a trial's GPU-seconds (heartbeat, finish,
 * requeue, a stopped trial's last word) moves the total by the difference in the same
 * transaction, so the lease path reads one row by key instead of summing a study's trials (a
 * 100k-trial study must not slow every lease). Not a column of `studies`: a heartbeat would then
 * wait for the study row's lock, which every engine ask holds for the whole ask.
 * Lock order: a writer holds its trial row, then the total's row, and takes no trial after it.
 */
export class GpuHourBudget1796336700000 implements MigrationInterface {
  name = 'GpuHourBudget1796336700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "studies" ADD "max_gpu_hours" double precision');
    await queryRunner.query(
      `CREATE TABLE "study_gpu_usage" (
         "study_id" uuid NOT NULL,
         "gpu_seconds" double precision NOT NULL DEFAULT 0,
         CONSTRAINT "PK_study_gpu_usage" PRIMARY KEY ("study_id"),
         CONSTRAINT "FK_study_gpu_usage_study" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE CASCADE
       )`,
    );
    await queryRunner.query(
      `INSERT INTO "study_gpu_usage" ("study_id", "gpu_seconds")
       SELECT "study_id", SUM("gpu_seconds") FROM "trials" WHERE "gpu_seconds" IS NOT NULL GROUP BY "study_id"`,
    );
    await queryRunner.query(
      `CREATE FUNCTION "trials_gpu_seconds_total"() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO study_gpu_usage AS u (study_id, gpu_seconds)
         VALUES (NEW.study_id, COALESCE(NEW.gpu_seconds, 0) - COALESCE(OLD.gpu_seconds, 0))
         ON CONFLICT (study_id) DO UPDATE SET gpu_seconds = u.gpu_seconds + EXCLUDED.gpu_seconds;
         RETURN NULL;
       END $$`,
    );
    // Trials are inserted without GPU-seconds (runners report them later) and deleted only with
    // their study (whose total goes with it): updates are the only writes to follow.
    await queryRunner.query(
      `CREATE TRIGGER "trials_gpu_seconds_total" AFTER UPDATE OF "gpu_seconds" ON "trials"
       FOR EACH ROW WHEN (OLD."gpu_seconds" IS DISTINCT FROM NEW."gpu_seconds")
       EXECUTE FUNCTION "trials_gpu_seconds_total"()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER "trials_gpu_seconds_total" ON "trials"');
    await queryRunner.query('DROP FUNCTION "trials_gpu_seconds_total"()');
    await queryRunner.query('DROP TABLE "study_gpu_usage"');
    await queryRunner.query('ALTER TABLE "studies" DROP COLUMN "max_gpu_hours"');
  }
}
