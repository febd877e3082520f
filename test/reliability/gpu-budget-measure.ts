/**
 * What the GPU-hour budget (`budget.maxGpuHours`) costs the lease path on a long study (not in CI;
 * docs/benchmarks.md, "Results: GPU-hour budget"). For each size in GPU_BUDGET_TRIALS (default
 * "1000,100000"): a study with a GPU-hour budget gets that many finished trials written straight
 * into PostgreSQL, each with GPU-seconds (an UPDATE, so the trigger keeps the running total as in
 * service); then one runner does GPU_BUDGET_ROUNDS rounds (default 200) of lease → heartbeat with
 * GPU-seconds → complete over HTTP, each timed, and the SUM over the study's trials that the
 * running total replaces is timed beside it. Prints one JSON line per size.
 * `node dist/test/reliability/gpu-budget-measure.js` after `npm run build`.
 */
import { DataSource } from 'typeorm';
import {
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
} from '../support/api-client';
import { startTestServer } from '../support/test-server';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

async function main(): Promise<void> {
  const sizes = (process.env.GPU_BUDGET_TRIALS ?? '1000,100000').split(',').map(Number);
  const rounds = Number(process.env.GPU_BUDGET_ROUNDS ?? 200);
  const test = await startTestServer();
  try {
    const db = test.get(DataSource);
    const userKey = await createKey(test, 'user');
    const runnerKey = await createKey(test, 'runner');
    for (const trials of sizes) {
      const runner = await registerRunner(test, runnerKey, `measure-${trials}`, { gpus: 8 });
      const study = await createStudy(
        test,
        userKey,
        quadraticStudy({
          name: `long-${trials}`,
          budget: { maxEvaluations: trials + rounds + 10, maxGpuHours: 1_000_000, leaseSeconds: 600 },
        }),
      );
      const studyId = String(study.id);
      await db.query(
        `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs,
                told, evaluation_number, objective, infeasibility, feasible, runner_id, started_at, finished_at)
         SELECT $1, 10 + n, 'completed', 'random', jsonb_build_array(n * 1e-6, n % 21 - 10), 'm' || n,
                jsonb_build_object('x', n * 1e-6, 'y', n % 21 - 10), 1, jsonb_build_object('loss', sin(n)),
                true, n, sin(n), 0, true, $3, now(), now()
           FROM generate_series(1, $2::int) AS n`,
        [studyId, trials, runner.id],
      );
      await db.query('UPDATE studies SET next_trial_number = $2, evaluation_count = $3 WHERE id = $1', [
        studyId,
        trials + 11,
        trials,
      ]);
      const fill = performance.now();
      await db.query('UPDATE trials SET gpu_seconds = 1 + (number % 7) WHERE study_id = $1', [studyId]);
      const fillMs = performance.now() - fill;
      await db.query('ANALYZE');
      const times: number[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const start = performance.now();
        const trialId = expectStatus(await lease(test, runner, studyId), 200).body.trial.id as string;
        expectStatus(await report(test, runner, trialId, 'heartbeat', { gpuSeconds: 1 }), 200);
        expectStatus(
          await report(test, runner, trialId, 'complete', { outputs: { loss: Math.random() }, gpuSeconds: 2 }),
          200,
        );
        times.push(performance.now() - start);
      }
      const lookups: number[] = [];
      const sums: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        let start = performance.now();
        await db.query('SELECT gpu_seconds FROM study_gpu_usage WHERE study_id = $1', [studyId]);
        lookups.push(performance.now() - start);
        start = performance.now();
        await db.query('SELECT SUM(gpu_seconds) FROM trials WHERE study_id = $1', [studyId]);
        sums.push(performance.now() - start);
      }
      const [check] = (await db.query(
        `SELECT (SELECT gpu_seconds FROM study_gpu_usage WHERE study_id = $1) AS kept,
                (SELECT SUM(gpu_seconds) FROM trials WHERE study_id = $1) AS summed`,
        [studyId],
      )) as { kept: number; summed: number }[];
      process.stdout.write(
        `${JSON.stringify({
          trials,
          rounds,
          roundMs: { p50: round2(percentile(times, 50)), p95: round2(percentile(times, 95)) },
          totalLookupMs: round2(percentile(lookups, 50)),
          sumOverTrialsMs: round2(percentile(sums, 50)),
          triggerFillMs: Math.round(fillMs),
          totalMatchesSum: Math.abs(Number(check.kept) - Number(check.summed)) < 1e-6,
        })}\n`,
      );
    }
  } finally {
    await test.close();
  }
}

void main();
