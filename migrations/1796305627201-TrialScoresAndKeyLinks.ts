import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trials keep the engine's reading of their result (f, h, feasible) and their place in the order
 * the engine was told them, so `/best` and the history pages are indexed queries. API keys keep
 * the salt of a chosen key (scrypt) and the runner-scope key that minted each runner token.
 * Existing rows are filled in: the evaluation order as they finished, and f / h by the engine's
 * rule (mads/evaluation.ts `evaluateOutputs`: L2 h over PB values above 1e-13, an EB value above
 * 1e-13 makes h infinite, a positive h below 1e-13 counts as 1e-13).
 */
export class TrialScoresAndKeyLinks1796305627201 implements MigrationInterface {
  name = 'TrialScoresAndKeyLinks1796305627201';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "api_keys" ADD "key_salt" character varying(64)');
    await queryRunner.query('ALTER TABLE "api_keys" ADD "issued_by_key_id" uuid');
    await queryRunner.query('ALTER TABLE "trials" ADD "evaluation_number" integer');
    await queryRunner.query('ALTER TABLE "trials" ADD "objective" double precision');
    await queryRunner.query('ALTER TABLE "trials" ADD "infeasibility" double precision');
    await queryRunner.query('ALTER TABLE "trials" ADD "feasible" boolean');
    await queryRunner.query(
      `UPDATE trials t SET evaluation_number = ordered.n
         FROM (SELECT id, row_number() OVER (PARTITION BY study_id ORDER BY finished_at, number) AS n
                 FROM trials WHERE told AND status IN ('completed', 'failed')) ordered
        WHERE t.id = ordered.id`,
    );
    await queryRunner.query(
      `UPDATE trials t SET objective = scored.f, infeasibility = CASE WHEN scored.h < 1e-13 THEN 0 ELSE scored.h END,
              feasible = scored.h < 1e-13
         FROM (SELECT id,
                      max(CASE WHEN kind = 'objective' THEN CASE WHEN goal = 'maximize' THEN -v ELSE v END END) AS f,
                      CASE WHEN bool_or(kind = 'constraint_eb' AND v > 1e-13) THEN 'Infinity'::float8
                           WHEN bool_or(kind = 'constraint_pb' AND v > 1e-13) THEN GREATEST(1e-13,
                             sum(CASE WHEN abs(v) > 1e150 THEN 'Infinity'::float8 ELSE v * v END)
                               FILTER (WHERE kind = 'constraint_pb' AND v > 1e-13))
                           ELSE 0 END AS h
                 FROM (SELECT t.id, o.spec->>'type' AS kind, o.spec->>'goal' AS goal,
                              (t.outputs->>(o.spec->>'name'))::float8 AS v
                         FROM trials t JOIN studies s ON s.id = t.study_id
                              CROSS JOIN jsonb_array_elements(s.outputs) AS o(spec)
                        WHERE t.told AND t.status = 'completed' AND t.outputs IS NOT NULL) v
                GROUP BY id) scored
        WHERE t.id = scored.id AND scored.f IS NOT NULL`,
    );
    await queryRunner.query('CREATE INDEX "ix_api_keys_issued_by" ON "api_keys"  ("issued_by_key_id") ');
    await queryRunner.query(
      'CREATE INDEX "ix_trials_best" ON "trials"  ("study_id", "infeasibility", "objective", "number") WHERE infeasibility IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE UNIQUE INDEX "uq_trials_study_evaluation" ON "trials"  ("study_id", "evaluation_number") WHERE evaluation_number IS NOT NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."uq_trials_study_evaluation"');
    await queryRunner.query('DROP INDEX "public"."ix_trials_best"');
    await queryRunner.query('DROP INDEX "public"."ix_api_keys_issued_by"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "feasible"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "infeasibility"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "objective"');
    await queryRunner.query('ALTER TABLE "trials" DROP COLUMN "evaluation_number"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP COLUMN "issued_by_key_id"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP COLUMN "key_salt"');
  }
}
