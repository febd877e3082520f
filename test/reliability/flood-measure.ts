/**
 * Red team 4's two flood probes (docs/reliability.md, finding 23), not in CI: one API process on
 * its own embedded PostgreSQL per budget setting, `off` (MESHTUNE_RATE_LIMIT_* = 0: the API before
 * the budgets), `default`, and a project budget of 10 requests a second, in one run so that the
 * figures compare.
 *
 * 1. Lease flood: 300 runners of project A lease a study at its `maxParallelTrials` (1) back to back,
 *    ignoring Retry-After, while project B's runner leases and completes a random-search study.
 * 2. Engine reads: project A has FLOOD_STUDIES (70) MADS studies of 200 variables with 700 imported
 *    evaluations each; 8 clients of A read `GET /v1/studies/{id}/engine` back to back over 60 of
 *    them, then all 70 (more than the 64 engines a process caches), while B's runner leases a
 *    2-variable MADS study.
 *
 * B's runner leases at a runner's pace, not as fast as it can (one lease + report every 150 ms,
 * under its own key budget), so that B's figures are what A's flood does to it. Setup requests
 * wait out a 429's Retry-After; the floods do not. Prints one table (markdown).
 * `npm run build && node dist/test/reliability/flood-measure.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiProcess, call, type HttpResult, newAdminKey, sleep, spawnApi } from './cluster';
import { createProject, expectOk, pacedVictim, patient, type VictimPhase } from './victim-harness';

const STUDIES = Number(process.env.FLOOD_STUDIES ?? 70);
const EVALUATIONS = 700;
const DIMENSION = 200;
const FLOOD_RUNNERS = 300;
const READERS = 8;

const SETTINGS: Record<string, Record<string, string>> = {
  off: {
    MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '0',
    MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '0',
  },
  // Empty: loadConfig's defaults (spawnApi sets the budgets and in-flight bounds to 0 for the other harnesses).
  default: {
    MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '',
    MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '',
    MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND: '',
    MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '',
    MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '',
  },
  // A project budget a flood on this machine's capacity reaches (it stays under the default's).
  'project 10/s': {
    MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '10',
    MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '10',
    MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND: '',
  },
};

async function register(url: string, runnerKey: string): Promise<{ id: string; token: string }> {
  return expectOk(
    patient(url, 'POST', '/v1/runners', runnerKey, { name: `r${Math.random()}`, maxConcurrentTrials: 256 }),
  );
}

function codesOf(counts: Map<string, number>): string {
  return [...counts].map(([code, count]) => `${count}×${code}`).join(', ');
}

async function leaseFlood(url: string, admin: string): Promise<string[]> {
  const A = await createProject(url, admin, 'floodA');
  const B = await createProject(url, admin, 'floodB');
  const study = (key: string, projectId: string, budget: object): Promise<HttpResult['body']> =>
    expectOk(
      patient(url, 'POST', '/v1/studies', key, {
        name: 'f',
        projectId,
        parameters: [{ name: 'x', type: 'real', lower: 0, upper: 1 }],
        outputs: [{ name: 'loss', type: 'objective' }],
        budget: { maxEvaluations: 1_000_000, ...budget },
        algorithm: { name: 'random', seed: 1 },
      }),
    );
  const studyA = (await study(A.users[0]!, A.id, { maxParallelTrials: 1 })).id;
  const studyB = (await study(B.users[0]!, B.id, {})).id;
  const runnerB = await register(url, B.runner);
  const loss = (): Record<string, number> => ({ loss: 1 });
  const alone = await pacedVictim(url, runnerB, studyB, 15_000, loss);
  const flooders: { id: string; token: string }[] = [];
  for (let i = 0; i < FLOOD_RUNNERS; i += 20) {
    flooders.push(...(await Promise.all(Array.from({ length: 20 }, () => register(url, A.runner)))));
  }
  let stop = false;
  const codes = new Map<string, number>();
  const floods = flooders.map(async (runner) => {
    while (!stop) {
      const leased = await call(url, 'POST', `/v1/runners/${runner.id}/lease`, runner.token, { studyId: studyA }).catch(
        () => ({ status: 'error' }) as unknown as HttpResult,
      );
      codes.set(String(leased.status), (codes.get(String(leased.status)) ?? 0) + 1);
      if (leased.status === 200) {
        await call(url, 'POST', `/v1/trials/${leased.body.trial.id}/complete`, runner.token, { outputs: loss() });
      }
    }
  });
  await sleep(2_000);
  const during = await pacedVictim(url, runnerB, studyB, 20_000, loss);
  stop = true;
  await Promise.all(floods);
  return [
    row('lease flood: B alone (15 s)', alone),
    row(`lease flood: B beside 300 A runners (20 s); A: ${codesOf(codes)}`, during),
  ];
}

function nomadCache(): string {
  const line = (k: number): string =>
    '( ' +
    Array.from({ length: DIMENSION }, (_, i) => (((k * 7919 + i * 104729) % 2000) / 100 - 10).toFixed(2)).join(' ') +
    ` ) BB_EVAL_OK ( ${(k % 97) / 10} ) SURROGATE_EVAL_NOT_STARTED ( )`;
  return 'BB_OUTPUT_TYPE OBJ\n' + Array.from({ length: EVALUATIONS }, (_, k) => line(k)).join('\n') + '\n';
}

async function engineReads(url: string, admin: string): Promise<string[]> {
  const A = await createProject(url, admin, 'thrash');
  const B = await createProject(url, admin, 'victim');
  const parameters = Array.from({ length: DIMENSION }, (_, i) => ({
    name: `x${i}`,
    type: 'real',
    lower: -10,
    upper: 10,
  }));
  const cacheFile = nomadCache();
  const ids: string[] = [];
  for (let i = 0; i < STUDIES; i += 2) {
    await Promise.all(
      [0, 1].map(async (j) => {
        const created = await expectOk(
          patient(url, 'POST', '/v1/studies', A.users[0]!, {
            name: `b${i + j}`,
            projectId: A.id,
            parameters,
            outputs: [{ name: 'loss', type: 'objective' }],
            budget: { maxEvaluations: 100_000 },
            algorithm: { name: 'mads', seed: 1 },
          }),
        );
        await expectOk(
          patient(url, 'POST', `/v1/studies/${created.id}/import/nomad-cache`, A.users[0]!, { cacheFile }),
        );
        ids.push(created.id);
      }),
    );
  }
  const studyB = (
    await expectOk(
      patient(url, 'POST', '/v1/studies', B.users[0]!, {
        name: 'v',
        projectId: B.id,
        parameters: [
          { name: 'x', type: 'real', lower: 0, upper: 1 },
          { name: 'y', type: 'real', lower: 0, upper: 1 },
        ],
        outputs: [{ name: 'loss', type: 'objective' }],
        budget: { maxEvaluations: 1_000_000 },
        algorithm: { name: 'mads', seed: 1 },
      }),
    )
  ).id;
  const runnerB = await expectOk(
    patient(url, 'POST', '/v1/runners', B.runner, { name: 'victim', maxConcurrentTrials: 1 }),
  );
  const loss = (p: Record<string, number>): Record<string, number> => ({ loss: p.x! ** 2 + p.y! });
  const rows = [row('engine reads: B alone (15 s)', await pacedVictim(url, runnerB, studyB, 15_000, loss))];
  for (const over of [Math.min(60, ids.length), ids.length]) {
    let stop = false;
    const codes = new Map<string, number>();
    const readers = Array.from({ length: READERS }, async (_, k) => {
      for (let i = k; !stop; i += READERS) {
        const read = await call(url, 'GET', `/v1/studies/${ids[i % over]}/engine`, A.users[0]!);
        codes.set(String(read.status), (codes.get(String(read.status)) ?? 0) + 1);
      }
    });
    await sleep(1_000);
    const during = await pacedVictim(url, runnerB, studyB, 15_000, loss);
    stop = true;
    await Promise.all(readers);
    rows.push(row(`engine reads: B beside 8 readers over ${over} studies (15 s); A: ${codesOf(codes)}`, during));
  }
  rows.push(row('engine reads: B after (15 s)', await pacedVictim(url, runnerB, studyB, 15_000, loss)));
  return rows;
}

function row(what: string, phase: VictimPhase): string {
  return `| ${what} | ${phase.n} | ${phase.p50} | ${phase.p99} | ${phase.max} | ${phase.refused} |`;
}

async function main(): Promise<void> {
  // FLOOD_BUDGETS: some of the settings, comma-separated (default: all).
  const only = process.env.FLOOD_BUDGETS?.split(',');
  const lines = [
    '| budgets | phase | B rounds | B p50 ms | B p99 ms | B max ms | B 429s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, env] of Object.entries(SETTINGS)) {
    if (only !== undefined && !only.includes(name)) continue;
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-flood-'));
    const adminKey = newAdminKey();
    // The API's defaults for leases and sweeps, as red team 4 ran it (cluster.ts shortens them).
    let api: ApiProcess | null = null;
    try {
      api = await spawnApi({
        adminKey,
        dataDir,
        env: { MESHTUNE_RETRY_AFTER_SECONDS: '5', MESHTUNE_LEASE_SWEEP_MS: '1000', ...env },
        readyTimeoutMs: 180_000,
      });
      // FLOOD_PROBES=lease: the lease flood only.
      const probes = process.env.FLOOD_PROBES === 'lease' ? [leaseFlood] : [leaseFlood, engineReads];
      for (const probe of probes) {
        for (const line of await probe(api.url, adminKey)) {
          lines.push(line.replace(/^\| /, `| ${name} | `));
          process.stderr.write(`${lines.at(-1)}\n`);
        }
      }
    } finally {
      await api?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
