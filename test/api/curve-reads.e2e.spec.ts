import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { types } from 'pg';
import { DataSource } from 'typeorm';
import { MAX_FITTED_CURVE_POINTS } from '../../api/src/early-stopping';
import { calibrationCurves, WHOLE_CURVE } from '../../api/src/trials/store/trial-store';
import { expectStatus, lease, registerRunner, report } from '../support/api-client';
import { createFleet, fleetStudy, type Fleet } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

/** PostgreSQL's `json` type (what json_agg returns): node-postgres parses it with JSON.parse. */
const JSON_OID = 114;

/**
 * Curves the early-stopping decision reads are bounded where they are read (docs/reliability.md,
 * finding 49): the curve policy's own and calibration curves arrive thinned to
 * MAX_FITTED_CURVE_POINTS, and the median policy's completed curves no further back than the points
 * it keeps. Before, each was read whole and parsed on the event loop, then thinned or dropped.
 */
describe('early-stopping curve reads: bounded in the database', () => {
  let test: TestServer;
  let db: DataSource;
  let fleet: Fleet;
  before(async () => {
    test = await startTestServer();
    db = test.get(DataSource);
    fleet = await createFleet(test, 'curve-reads');
  });
  after(async () => test.close());

  const curveStudy = (earlyStopping: Record<string, unknown>) =>
    fleetStudy(test, fleet, {
      name: 'long curves',
      parameters: [
        { name: 'x', type: 'real', lower: -5, upper: 5 },
        { name: 'y', type: 'real', lower: -5, upper: 5 },
      ],
      outputs: [{ name: 'val_loss', type: 'objective' }],
      budget: { maxEvaluations: 100, leaseSeconds: 600 },
      earlyStopping,
    });

  /** Finished trials written straight into the store: `completed` ones (told, feasible) and early-stopped ones, each a curve of `points`. */
  async function seedFinished(studyId: string, completed: number, stopped: number, points: number): Promise<void> {
    await db.query(
      `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, told,
              evaluation_number, objective, infeasibility, feasible, outputs, stop_reason, total_steps,
              started_at, finished_at)
       SELECT $1, 1000 + n, CASE WHEN n <= $2 THEN 'completed' ELSE 'stopped' END, 'random',
              jsonb_build_array(n * 1e-6, 0), 's' || n, jsonb_build_object('x', n * 1e-6, 'y', 0), 1, true, n,
              CASE WHEN n <= $2 THEN 1 + n / 100.0 END, CASE WHEN n <= $2 THEN 0 END, CASE WHEN n <= $2 THEN true END,
              CASE WHEN n <= $2 THEN jsonb_build_object('val_loss', 1 + n / 100.0) END,
              CASE WHEN n > $2 THEN 'early_stopped' END, $4, now(), now()
         FROM generate_series(1, $2::int + $3::int) AS n`,
      [studyId, completed, stopped, points],
    );
    await db.query(
      `INSERT INTO trial_metrics (trial_id, name, step, value)
       SELECT t.id, 'val_loss', s, 1 + t.number / 1000.0 + 3.0 / sqrt(s)
         FROM trials t, generate_series(1, $2::int) AS s WHERE t.study_id = $1`,
      [studyId, points],
    );
  }

  it("reads the curve policy's own and calibration curves thinned, at every heartbeat decision", async () => {
    const studyId = await curveStudy({ kind: 'curve' });
    await seedFinished(studyId, 5, 5, 3000);
    const runner = await registerRunner(test, fleet.runnerKey, 'curves');
    const trialId = (expectStatus(await lease(test, runner, studyId), 200).body.trial as { id: string }).id;
    // Every curve the app parses from a json column while the heartbeats are decided.
    const longest: number[] = [];
    const parse = types.getTypeParser(JSON_OID, 'text');
    types.setTypeParser(JSON_OID, (text: string) => {
      const value = parse(text) as unknown;
      if (Array.isArray(value) && value.every((point) => Array.isArray(point) && point.length === 2)) {
        longest.push(value.length);
      }
      return value;
    });
    try {
      for (let beat = 0; beat < 3; beat++) {
        const metrics = Array.from({ length: 1000 }, (_, index) => {
          const step = beat * 1000 + index + 1;
          return { name: 'val_loss', step, value: 1.5 + 3 / Math.sqrt(step) };
        });
        expectStatus(
          await report(test, runner, trialId, 'heartbeat', { progress: ((beat + 1) * 1000) / 3000, metrics }),
          200,
        );
      }
    } finally {
      types.setTypeParser(JSON_OID, parse);
    }
    // Its own curve at each of 3 decisions, and the 10 calibration curves once.
    assert.ok(longest.length >= 13, `only ${longest.length} curves were read`);
    assert.ok(
      Math.max(...longest) <= MAX_FITTED_CURVE_POINTS,
      `a curve of ${Math.max(...longest)} points was read to fit at most ${MAX_FITTED_CURVE_POINTS}`,
    );
  });

  it("reads the median policy's completed curves no further back than the points it keeps", async () => {
    const studyId = await curveStudy({ kind: 'median' });
    await seedFinished(studyId, 6, 0, 100);
    const read = async (maxTotalPoints: number | null) =>
      (await calibrationCurves(db, studyId, 'val_loss', 0, 1000, false, WHOLE_CURVE, maxTotalPoints)).map((row) => [
        row.evaluation_number,
        row.points?.length,
      ]);
    assert.deepEqual(
      await read(null),
      [6, 5, 4, 3, 2, 1].map((n) => [n, 100]),
    );
    // The newest curves whose points add up to the bound, whole; the newest one always.
    assert.deepEqual(
      await read(300),
      [6, 5, 4].map((n) => [n, 100]),
    );
    assert.deepEqual(
      await read(299),
      [6, 5].map((n) => [n, 100]),
    );
    assert.deepEqual(await read(1), [[6, 100]]);
  });
});
