/**
 * How long `DELETE /v1/studies/{id}` takes on a long study, and what it costs another project
 * (not in CI; docs/reliability.md, finding 27). For each size in DELETE_TRIALS (default
 * "5000,20000"): project A's stopped study gets that many finished trials, DELETE_METRICS metric
 * points each (default 20), one lease row each and one engine event each, written straight into
 * PostgreSQL; then, while project B's runner leases and completes its own study back to back, A's
 * key deletes the study over HTTP. B's rounds are timed for 3 s before the delete (alone) and
 * during it (neighbour-load.ts, `aloneThenDuring`). Prints one JSON line per size.
 * `node dist/test/reliability/delete-measure.js` after `npm run build`.
 */
import { DataSource } from 'typeorm';
import { auth, expectStatus, quadraticStudy, registerRunner } from '../support/api-client';
import { countRows, createFleet, fleetStudy } from '../support/runner-fleet';
import { roundSummary, runBesideNeighbour } from './neighbour-load';

runBesideNeighbour(async (test, neighbour) => {
  const sizes = (process.env.DELETE_TRIALS ?? '5000,20000').split(',').map(Number);
  const metricsPerTrial = Number(process.env.DELETE_METRICS ?? 20);
  const db = test.get(DataSource);
  for (const trials of sizes) {
    const a = await createFleet(test, `measure-a-${trials}`);
    const aRunner = await registerRunner(test, a.runnerKey, 'a');
    const studyId = await fleetStudy(test, a, {
      ...quadraticStudy(),
      name: 'long',
      budget: { maxEvaluations: trials + 10 },
    });
    expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/stop`)
        .set(...auth(a.userKey))
        .send({}),
      200,
    );
    await db.query(
      `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs,
              told, evaluation_number, objective, infeasibility, feasible, runner_id, started_at, finished_at)
       SELECT $1, 10 + n, 'completed', 'random', jsonb_build_array(n * 1e-6, n % 21 - 10), 'm' || n,
              jsonb_build_object('x', n * 1e-6, 'y', n % 21 - 10), 1, jsonb_build_object('loss', sin(n)),
              true, n, sin(n), 0, true, $3, now(), now()
         FROM generate_series(1, $2::int) AS n`,
      [studyId, trials, aRunner.id],
    );
    await db.query(
      `INSERT INTO trial_leases (trial_id, attempt, runner_id, leased_at, ended_at, outcome)
       SELECT id, 1, $2, now(), now(), 'completed' FROM trials WHERE study_id = $1`,
      [studyId, aRunner.id],
    );
    await db.query(
      `INSERT INTO trial_metrics (trial_id, name, step, value)
       SELECT t.id, 'loss', s, 1.0 / s FROM trials t, generate_series(1, $2::int) AS s WHERE t.study_id = $1`,
      [studyId, metricsPerTrial],
    );
    await db.query(
      `INSERT INTO engine_events (study_id, version, operation)
       SELECT $1, 1000 + n, jsonb_build_object('kind', 'tell', 'n', n) FROM generate_series(1, $2::int) AS n`,
      [studyId, trials],
    );
    await db.query('ANALYZE');
    const rows = {
      trials: await countRows(db, 'trials WHERE study_id = $1', [studyId]),
      metrics: await countRows(db, 'trial_metrics m JOIN trials t ON t.id = m.trial_id WHERE t.study_id = $1', [
        studyId,
      ]),
      leases: await countRows(db, 'trial_leases l JOIN trials t ON t.id = l.trial_id WHERE t.study_id = $1', [studyId]),
      events: await countRows(db, 'engine_events WHERE study_id = $1', [studyId]),
    };
    const sizeBefore = Number((await db.query('SELECT pg_database_size(current_database()) AS n'))[0].n);
    // B alone first, for as long as the delete will take (at least 3 s), then the delete beside it.
    const phases = await neighbour.aloneThenDuring(3000, async () =>
      test.http.delete(`/v1/studies/${studyId}`).set(...auth(a.userKey)),
    );
    expectStatus(phases.result, 204);
    const left = await countRows(db, 'trials WHERE study_id = $1', [studyId]);
    console.log(
      JSON.stringify({
        ...rows,
        deleteMs: Math.round(phases.workMs),
        leftTrials: left,
        databaseMbBefore: Math.round(sizeBefore / 1e5) / 10,
        bAlone: roundSummary(phases.bAlone),
        bDuringDelete: roundSummary(phases.bDuring),
      }),
    );
  }
});
