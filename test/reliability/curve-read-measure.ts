/**
 * What the early-stopping decision's curve reads cost on a study of long curves (not in CI;
 * docs/reliability.md, "Probed … and found fine", red team 8: thinning these reads in SQL did not
 * pay and was dropped). Project A's curve-policy study gets CURVE_COMPLETED completed
 * and CURVE_STOPPED early-stopped trials (default 100 and 100: the calibration window's most),
 * each a curve of CURVE_POINTS objective points (default 10,000: a trial's metric cap), written
 * straight into PostgreSQL; then A's runner leases a trial and sends 6 heartbeats of 1,000 points
 * each (the first decision reads every calibration curve, each decision the trial's own curve)
 * while project B's runner leases and completes back to back. Prints one JSON line: A's heartbeat
 * times, the process's event-loop delay and B's rounds (neighbour-load.ts, `aloneThenDuring`),
 * alone (4 s) and during A's heartbeats.
 * `npm run build && node dist/test/reliability/curve-read-measure.js`.
 */
import { DataSource } from 'typeorm';
import { expectStatus, lease, registerRunner, report } from '../support/api-client';
import { createFleet, fleetStudy } from '../support/runner-fleet';
import { loopSummary, roundSummary, runBesideNeighbour } from './neighbour-load';

runBesideNeighbour(async (test, neighbour) => {
  const completed = Number(process.env.CURVE_COMPLETED ?? 100);
  const stopped = Number(process.env.CURVE_STOPPED ?? 100);
  const points = Number(process.env.CURVE_POINTS ?? 10_000);
  const db = test.get(DataSource);
  const a = await createFleet(test, 'measure-a');
  const aRunner = await registerRunner(test, a.runnerKey, 'a');
  const studyId = await fleetStudy(test, a, {
    name: 'long curves',
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'real', lower: -5, upper: 5 },
    ],
    outputs: [{ name: 'val_loss', type: 'objective' }],
    budget: { maxEvaluations: completed + stopped + 10, leaseSeconds: 600 },
    earlyStopping: { kind: 'curve', calibrationWindow: 100 },
  });
  await db.query(
    `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, told,
            evaluation_number, objective, infeasibility, feasible, outputs, stop_reason, total_steps,
            started_at, finished_at)
     SELECT $1, 1000 + n, CASE WHEN n <= $2 THEN 'completed' ELSE 'stopped' END, 'random',
            jsonb_build_array(n * 1e-6, 0), 's' || n, jsonb_build_object('x', n * 1e-6, 'y', 0), 1, true, n,
            CASE WHEN n <= $2 THEN 1 + n / 1000.0 END, CASE WHEN n <= $2 THEN 0 END, CASE WHEN n <= $2 THEN true END,
            CASE WHEN n <= $2 THEN jsonb_build_object('val_loss', 1 + n / 1000.0) END,
            CASE WHEN n > $2 THEN 'early_stopped' END, $4, now(), now()
       FROM generate_series(1, $2::int + $3::int) AS n`,
    [studyId, completed, stopped, points],
  );
  await db.query(
    `INSERT INTO trial_metrics (trial_id, name, step, value)
     SELECT t.id, 'val_loss', s, 1 + t.number / 100000.0 + 3.0 / sqrt(s)
       FROM trials t, generate_series(1, $2::int) AS s WHERE t.study_id = $1`,
    [studyId, points],
  );
  await db.query('UPDATE studies SET evaluation_count = $2, next_trial_number = $3 WHERE id = $1', [
    studyId,
    completed + stopped,
    completed + stopped + 1,
  ]);
  await db.query('ANALYZE');
  const trialId = expectStatus(await lease(test, aRunner, studyId), 200).body.trial.id as string;
  const phases = await neighbour.aloneThenDuring(4000, async () => {
    const beatMs: number[] = [];
    let shouldStop = false;
    for (let beat = 0; beat < 6 && !shouldStop; beat++) {
      const metrics = Array.from({ length: 1000 }, (_, index) => {
        const step = beat * 1000 + index + 1;
        return { name: 'val_loss', step, value: 1.05 + 3 / Math.sqrt(step) };
      });
      const start = performance.now();
      const answer = expectStatus(
        await report(test, aRunner, trialId, 'heartbeat', { progress: ((beat + 1) * 1000) / (points * 2), metrics }),
        200,
      ).body as { shouldStop: boolean };
      beatMs.push(performance.now() - start);
      shouldStop = answer.shouldStop;
    }
    return beatMs;
  });
  console.log(
    JSON.stringify({
      completed,
      stopped,
      pointsPerCurve: points,
      aHeartbeatMs: phases.result.map(Math.round),
      loopDelayMs: { alone: loopSummary(phases.loopDelay.alone), during: loopSummary(phases.loopDelay.during) },
      bAlone: roundSummary(phases.bAlone),
      bDuringHeartbeats: roundSummary(phases.bDuring),
    }),
  );
});
