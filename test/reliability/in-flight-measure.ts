/**
 * What one project's slow requests in flight do to another project (docs/reliability.md, finding
 * 30), not in CI: one API process per setting on its own embedded PostgreSQL, in-flight bounds
 * `off` (MESHTUNE_RATE_LIMIT_*_IN_FLIGHT = 0: the API before them) and `default`, the request
 * budgets at their defaults in both, in one run so that the figures compare.
 *
 * Project A's study row is held FOR UPDATE by this script's own connection for LOCK_MS at a time
 * (standing for a slow engine command on that study: findings 16, 21, 22 measured calls of
 * seconds), released for 200 ms, again and again; A_CLIENTS clients of A (over A_KEYS keys, each
 * under its key budget) send `POST /v1/studies/{A}/pause` and `/resume` back to back, each waiting
 * for the lock inside its transaction, holding a database connection. Project B's runner leases
 * and completes a random-search study at a runner's pace (one round every 150 ms), as in
 * flood-measure.ts: its figures are what A's requests do to it.
 * `npm run build && node dist/test/reliability/in-flight-measure.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import { type ApiProcess, call, type HttpResult, newAdminKey, sleep, spawnApi } from './cluster';
import { createProject, expectOk, pacedVictim, type VictimPhase } from './victim-harness';

const LOCK_MS = Number(process.env.IN_FLIGHT_LOCK_MS ?? 3000);
const A_CLIENTS = Number(process.env.IN_FLIGHT_A_CLIENTS ?? 60);
const A_KEYS = 6;
const PHASE_MS = 15_000;

const SETTINGS: Record<string, Record<string, string>> = {
  off: { MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '0', MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '0' },
  default: { MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '', MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '' },
};
/** The request budgets at their defaults (spawnApi turns them off for the other harnesses). */
const DEFAULT_BUDGETS = {
  MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '',
  MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '',
  MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND: '',
};

function study(url: string, key: string, projectId: string): Promise<HttpResult['body']> {
  return expectOk(
    call(url, 'POST', '/v1/studies', key, {
      name: 'f',
      projectId,
      parameters: [{ name: 'x', type: 'real', lower: 0, upper: 1 }],
      outputs: [{ name: 'loss', type: 'objective' }],
      budget: { maxEvaluations: 1_000_000 },
      algorithm: { name: 'random', seed: 1 },
    }),
  );
}

function row(setting: string, phase: string, result: VictimPhase): string {
  return `| ${setting} | ${phase} | ${result.n} | ${result.p50} | ${result.p99} | ${result.max} | ${result.refused} |`;
}

async function measure(setting: string, url: string, admin: string, ownerUrl: string): Promise<string[]> {
  const A = await createProject(url, admin, 'slowA', A_KEYS);
  const B = await createProject(url, admin, 'victimB');
  const studyA = (await study(url, A.users[0]!, A.id)).id as string;
  const studyB = (await study(url, B.users[0]!, B.id)).id as string;
  const runnerB = await expectOk(call(url, 'POST', '/v1/runners', B.runner, { name: 'b', maxConcurrentTrials: 256 }));
  const alone = await pacedVictim(url, runnerB, studyB, PHASE_MS);

  let stop = false;
  const locker = new Client({ connectionString: ownerUrl });
  await locker.connect();
  const holding = (async () => {
    while (!stop) {
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM studies WHERE id = $1 FOR UPDATE', [studyA]);
      const until = Date.now() + LOCK_MS;
      while (!stop && Date.now() < until) await sleep(50);
      await locker.query('ROLLBACK');
      await sleep(200);
    }
  })();
  const codes = new Map<string, number>();
  const clients = Array.from({ length: A_CLIENTS }, async (_, i) => {
    const key = A.users[i % A_KEYS]!;
    for (let k = 0; !stop; k++) {
      const answer = await call(url, 'POST', `/v1/studies/${studyA}/${k % 2 === 0 ? 'pause' : 'resume'}`, key).catch(
        () => ({ status: 'error' }) as unknown as HttpResult,
      );
      codes.set(String(answer.status), (codes.get(String(answer.status)) ?? 0) + 1);
    }
  });
  await sleep(2_000);
  const during = await pacedVictim(url, runnerB, studyB, PHASE_MS);
  stop = true;
  await Promise.all([...clients, holding]);
  await locker.end();
  const codeList = [...codes].map(([code, count]) => `${count}×${code}`).join(', ');
  return [
    row(setting, `B alone (${PHASE_MS / 1000} s)`, alone),
    row(
      setting,
      `B beside ${A_CLIENTS} A requests on a study locked ${LOCK_MS / 1000} s at a time (${PHASE_MS / 1000} s); A: ${codeList}`,
      during,
    ),
  ];
}

async function main(): Promise<void> {
  const lines = [
    '| in-flight bounds | phase | B rounds | B p50 ms | B p99 ms | B max ms | B 429s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, env] of Object.entries(SETTINGS)) {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-in-flight-'));
    const database = await startEmbeddedPostgres(dataDir, null);
    const adminKey = newAdminKey();
    let api: ApiProcess | null = null;
    try {
      api = await spawnApi({
        adminKey,
        databaseUrl: database.appUrl,
        migrationDatabaseUrl: database.ownerUrl,
        env: { MESHTUNE_RETRY_AFTER_SECONDS: '5', MESHTUNE_LEASE_SWEEP_MS: '1000', ...DEFAULT_BUDGETS, ...env },
        readyTimeoutMs: 180_000,
      });
      for (const line of await measure(name, api.url, adminKey, database.ownerUrl)) {
        lines.push(line);
        process.stderr.write(`${line}\n`);
      }
    } finally {
      await api?.stop();
      await database.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
