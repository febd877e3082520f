import type { Client } from 'pg';
import { RandomSearch } from '../../src/algorithms/random/random-search';
import type { EvaluationResult } from '../../src/optimizer-contract/algorithm';
import { EngineMapping, pointKey } from '../../src/search-space/engine-mapping';

const BATCH = 10_000;

/**
 * Writes `count` finished trials of the bench's quadratic study (x real in [-5, 5], y integer in
 * [-10, 10]) straight into PostgreSQL, as a study that had run that long would have them: trial
 * rows (completed, told), their lease rows, the study's counters, and — unless `rowsOnly` — the
 * `random` algorithm's engine state told every one of those points (its state lists every known
 * point, so it grows with the study like in real use).
 */
export async function prefillStudy(
  db: Client,
  studyId: string,
  runnerId: string,
  count: number,
  rowsOnly = false,
): Promise<void> {
  if (count === 0) return;
  const [study] = (
    await db.query('SELECT parameters, derived, outputs, engine_state FROM studies WHERE id = $1', [studyId])
  ).rows as { parameters: never; derived: never; outputs: never; engine_state: unknown }[];
  const mapping = new EngineMapping(study.parameters, study.derived, study.outputs);
  const results: EvaluationResult[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const numbers: number[] = [];
    const points: string[] = [];
    const keys: string[] = [];
    const parameters: string[] = [];
    const outputs: string[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i += 1) {
      const user = { x: -5 + (10 * (i + 0.5)) / count, y: (i % 21) - 10 };
      const x = [user.x, user.y];
      const loss = user.x * user.x + user.y * user.y;
      numbers.push(i + 1);
      points.push(JSON.stringify(x));
      keys.push(pointKey(x));
      parameters.push(JSON.stringify(user));
      outputs.push(JSON.stringify({ loss }));
      results.push({ x, outputs: mapping.toEngineOutputs({ loss }) });
    }
    await db.query(
      `WITH t AS (
         INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, outputs, told,
                             evaluation_number, objective, infeasibility, feasible, runner_id, started_at, finished_at)
         SELECT $1, n, 'completed', 'random', p, k, par, o, true, n, (o->>'loss')::float8, 0, true, $2, now(), now()
           FROM unnest($3::int[], $4::jsonb[], $5::text[], $6::jsonb[], $7::jsonb[]) AS u(n, p, k, par, o)
         RETURNING id
       )
       INSERT INTO trial_leases (trial_id, attempt, runner_id, leased_at, ended_at, outcome)
       SELECT id, 1, $2, now(), now(), 'completed' FROM t`,
      [studyId, runnerId, numbers, points, keys, parameters, outputs],
    );
  }
  let engineState = study.engine_state;
  if (!rowsOnly) {
    const algorithm = RandomSearch.fromJSON(study.engine_state);
    algorithm.tell(results);
    engineState = algorithm.toJSON();
  }
  await db.query('UPDATE studies SET engine_state = $2, evaluation_count = $3, next_trial_number = $4 WHERE id = $1', [
    studyId,
    JSON.stringify(engineState),
    count,
    count + 1,
  ]);
  await db.query('ANALYZE trials');
  await db.query('ANALYZE trial_leases');
}
