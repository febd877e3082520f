/**
 * What a resume of a study with many paused trials costs, and what it costs another project (not in
 * CI; docs/reliability.md, finding 48). For each size in RESUME_PAUSED (default "100,500"): project
 * A's study (curve policy with `resume`) gets that many paused trials, told, each with a curve of
 * RESUME_POINTS objective points (default 10,000: the metric cap of a trial), written straight into
 * PostgreSQL, and its evaluation count set to its budget, so that every lease of A resumes one
 * paused trial (EngineService.resumeIfDue at the end of a study). Then, while project B's runner
 * leases and completes its own study back to back, A's runner makes RESUME_LEASES leases (default
 * 10) one after the other. B's rounds and the process's event-loop delay (neighbour-load.ts,
 * `aloneThenDuring`) are taken for 4 s before A's leases (alone) and during them. Prints one JSON line per size. The paused trials
 * carry the score their pause stores (`resumeScore`), unless RESUME_UNSCORED=1 (paused before
 * scores were stored; the only form before finding 48's fix, whose script had no such column).
 * `npm run build && node dist/test/reliability/resume-measure.js`.
 */
import { DataSource } from 'typeorm';
import { MAX_FITTED_CURVE_POINTS, resumeScore, thinCurve } from '../../api/src/early-stopping';
import { expectStatus, lease, registerRunner } from '../support/api-client';
import { createFleet, fleetStudy } from '../support/runner-fleet';
import { loopSummary, roundSummary, runBesideNeighbour } from './neighbour-load';
import { percentile } from '../../api/bench/service/stats';

runBesideNeighbour(async (test, neighbour) => {
  const sizes = (process.env.RESUME_PAUSED ?? '100,500').split(',').map(Number);
  const points = Number(process.env.RESUME_POINTS ?? 10_000);
  const aLeases = Number(process.env.RESUME_LEASES ?? 10);
  const db = test.get(DataSource);
  for (const paused of sizes) {
    const a = await createFleet(test, `measure-a-${paused}`);
    const aRunner = await registerRunner(test, a.runnerKey, 'a', { maxConcurrentTrials: 256 });
    const studyId = await fleetStudy(test, a, {
      name: 'paused',
      parameters: [
        { name: 'x', type: 'real', lower: -5, upper: 5 },
        { name: 'y', type: 'real', lower: -5, upper: 5 },
      ],
      outputs: [{ name: 'val_loss', type: 'objective' }],
      budget: { maxEvaluations: paused + 1, maxParallelTrials: 256, leaseSeconds: 600 },
      trainingConfig: { checkpointSteps: 5 },
      earlyStopping: { kind: 'curve', resume: {} },
    });
    // Paused trials as the service leaves them (pause told, runner kept), curves decaying to a
    // value of their own so that the choice has a best to find.
    await db.query(
      `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, told,
              evaluation_number, stop_reason, total_steps, runner_id, started_at, finished_at)
       SELECT $1, n, 'paused', 'random', jsonb_build_array(n * 1e-6, 0), 'p' || n,
              jsonb_build_object('x', n * 1e-6, 'y', 0), 1, true, n, 'early_stopped', $3, $4, now(), now()
         FROM generate_series(1, $2::int) AS n`,
      [studyId, paused, points * 2, aRunner.id],
    );
    await db.query(
      `INSERT INTO trial_metrics (trial_id, name, step, value)
       SELECT t.id, 'val_loss', s, 1 + (t.number % 97) / 97.0 + 3.0 / sqrt(s)
         FROM trials t, generate_series(1, $2::int) AS s WHERE t.study_id = $1`,
      [studyId, points],
    );
    // The score each pause stores (resumeScore of its thinned curve), unless RESUME_UNSCORED=1:
    // trials paused before scores were stored, which the resume fits at each choice.
    if (process.env.RESUME_UNSCORED !== '1') {
      const rows = (await db.query('SELECT id, number FROM trials WHERE study_id = $1', [studyId])) as {
        id: string;
        number: number;
      }[];
      for (const row of rows) {
        const curve = Array.from({ length: points }, (_, index) => ({
          step: index + 1,
          value: 1 + (row.number % 97) / 97 + 3 / Math.sqrt(index + 1),
        }));
        const score = resumeScore({ points: thinCurve(curve, MAX_FITTED_CURVE_POINTS), totalSteps: points * 2 });
        await db.query('UPDATE trials SET resume_score = $2 WHERE id = $1', [row.id, score]);
      }
    }
    await db.query('UPDATE studies SET evaluation_count = max_evaluations, next_trial_number = $2 WHERE id = $1', [
      studyId,
      paused + 1,
    ]);
    await db.query('ANALYZE');
    const phases = await neighbour.aloneThenDuring(4000, async () => {
      const aMs: number[] = [];
      for (let i = 0; i < aLeases; i++) {
        const start = performance.now();
        const leased = expectStatus(await lease(test, aRunner, studyId), 200).body.trial as { resumes?: number };
        aMs.push(performance.now() - start);
        if (leased === undefined) throw new Error('no lease');
      }
      return aMs;
    });
    const aMs = phases.result;
    const resumed = Number(
      (await db.query(`SELECT count(*)::int AS n FROM trials WHERE study_id = $1 AND resumes > 0`, [studyId]))[0].n,
    );
    console.log(
      JSON.stringify({
        paused,
        scored: process.env.RESUME_UNSCORED !== '1',
        pointsPerCurve: points,
        resumed,
        aLeaseMs: { p50: Math.round(percentile(aMs, 50)), max: Math.round(Math.max(...aMs)) },
        loopDelayMs: { alone: loopSummary(phases.loopDelay.alone), during: loopSummary(phases.loopDelay.during) },
        bAlone: roundSummary(phases.bAlone),
        bDuringResumes: roundSummary(phases.bDuring),
      }),
    );
  }
});
