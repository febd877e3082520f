/**
 * What the early-stopping decision's curve reads cost on a study of long curves (not in CI;
 * docs/reliability.md, "Probed … and found fine", red team 8: thinning these reads in SQL did not
 * pay and was dropped). Project A's curve-policy study gets CURVE_COMPLETED completed
 * and CURVE_STOPPED early-stopped trials (default 100 and 100: the calibration window's most),
 * each a curve of CURVE_POINTS objective points (default 10,000: a trial's metric cap), written
 * straight into PostgreSQL; then A's runner leases a trial and sends 6 heartbeats of 1,000 points
 * each (the first decision reads every calibration curve, each decision the trial's own curve)
 * while project B's runner leases and completes back to back. Prints one JSON line: A's heartbeat
 * times, the process's event-loop delay (perf_hooks.monitorEventLoopDelay; the process runs the
 * app and both clients) and B's rounds, alone and during A's heartbeats.
 * `npm run build && node dist/test/reliability/curve-read-measure.js`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { expectStatus, lease, registerRunner, report } from '../support/api-client';
import { createFleet, fleetStudy } from '../support/runner-fleet';
import { startTestServer } from '../support/test-server';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const summary = (values: number[]) => ({
  rounds: values.length,
  p50: Math.round(percentile(values, 50)),
  p99: Math.round(percentile(values, 99)),
  max: Math.round(Math.max(...values)),
});

async function main(): Promise<void> {
  const completed = Number(process.env.CURVE_COMPLETED ?? 100);
  const stopped = Number(process.env.CURVE_STOPPED ?? 100);
  const points = Number(process.env.CURVE_POINTS ?? 10_000);
  const test = await startTestServer();
  try {
    const db = test.get(DataSource);
    const b = await createFleet(test, 'measure-b');
    const bRunner = await registerRunner(test, b.runnerKey, 'b');
    const bStudy = await fleetStudy(test, b, { name: 'b', budget: { maxEvaluations: 1_000_000, leaseSeconds: 600 } });
    let stopB = false;
    const rounds: { at: number; ms: number }[] = [];
    const bLoop = (async () => {
      while (!stopB) {
        const start = performance.now();
        const leased = expectStatus(await lease(test, bRunner, bStudy), 200).body.trial.id as string;
        expectStatus(await report(test, bRunner, leased, 'complete', { outputs: { loss: Math.random() } }), 200);
        rounds.push({ at: start, ms: performance.now() - start });
      }
    })();
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
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const aloneFrom = performance.now();
    await new Promise((resolveWait) => setTimeout(resolveWait, 4000));
    const aloneLoop = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
    delay.reset();
    const beatsFrom = performance.now();
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
    const beatsTo = performance.now();
    const duringLoop = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
    delay.disable();
    const alone = rounds.filter((r) => r.at >= aloneFrom && r.at < beatsFrom).map((r) => r.ms);
    const during = rounds.filter((r) => r.at + r.ms >= beatsFrom && r.at < beatsTo).map((r) => r.ms);
    console.log(
      JSON.stringify({
        completed,
        stopped,
        pointsPerCurve: points,
        aHeartbeatMs: beatMs.map(Math.round),
        loopDelayMs: {
          alone: { p99: Math.round(aloneLoop.p99), max: Math.round(aloneLoop.max) },
          during: { p99: Math.round(duringLoop.p99), max: Math.round(duringLoop.max) },
        },
        bAlone: summary(alone),
        bDuringHeartbeats: summary(during),
      }),
    );
    stopB = true;
    await bLoop;
  } finally {
    await test.close();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
