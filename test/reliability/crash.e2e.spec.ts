import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import {
  type ApiProcess,
  call,
  checkStudy,
  createApiKey,
  expectCall,
  freePort,
  newAdminKey,
  newRunRecord,
  objectiveOf,
  registerRunners,
  runnerLoop,
  sleep,
  spawnApi,
} from './cluster';
import { engineEvaluationCount } from './concurrency-scenario';

function studyBody(maxEvaluations: number): Record<string, unknown> {
  return {
    name: 'crash',
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'real', lower: -5, upper: 5 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ x: 1, y: 1 }],
    budget: { maxEvaluations, maxAttempts: 5, leaseSeconds: 5 },
    algorithm: { name: 'random', seed: 3 },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function postmasterPid(dataDir: string): number | null {
  const file = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(file)) return null;
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

/** Stops a PostgreSQL server an API left behind when it was killed (ours, found by its pid file). */
async function stopOrphanedPostgres(dataDir: string): Promise<void> {
  const pid = postmasterPid(dataDir);
  if (pid === null || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

describe('kill -9 of the API or of a runner (external PostgreSQL)', { timeout: 240_000 }, () => {
  let dataDir: string;
  let database: EmbeddedDatabase;
  let adminKey: string;
  let port: number;
  let api: ApiProcess;
  let userKey: string;
  let runnerKey: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meshtune-crash-'));
    database = await startEmbeddedPostgres(dataDir, null);
    adminKey = newAdminKey();
    port = await freePort();
    api = await spawnApi({ adminKey, databaseUrl: database.appUrl, migrationDatabaseUrl: database.ownerUrl, port });
    userKey = await createApiKey(api.url, adminKey, 'user');
    runnerKey = await createApiKey(api.url, adminKey, 'runner');
  });
  after(async () => {
    await api?.stop();
    await database?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('API killed mid-run and restarted: the study finishes with the exact budget, nothing lost', async () => {
    const budget = 300;
    const study = await expectCall(api.url, 'POST', '/v1/studies', userKey, studyBody(budget), 201);
    const runners = await registerRunners(api.url, runnerKey, 16);
    const record = newRunRecord();
    const deadline = Date.now() + 180_000;
    const running = Promise.all(
      runners.map((runner, index) =>
        runnerLoop(runner, {
          urls: () => [api.url],
          studyId: study.id as string,
          record,
          offset: index,
          workMs: () => Math.random() * 40,
          deadline,
        }),
      ),
    );
    while (record.accepted.size < 100) {
      if (Date.now() > deadline) throw new Error('no progress before the kill');
      await sleep(20);
    }
    api.child.kill('SIGKILL');
    const exit = await api.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const acceptedAtKill = record.accepted.size;
    assert.ok(acceptedAtKill < budget, 'the kill came mid-run');
    await sleep(1000);
    api = await spawnApi({ adminKey, databaseUrl: database.appUrl, migrationDatabaseUrl: database.ownerUrl, port });
    await running;

    assert.ok(record.networkRetries > 0, 'runners saw the API go away');
    const check = await checkStudy(database.ownerUrl, study.id as string, record, engineEvaluationCount);
    assert.deepEqual(check.problems, []);
    assert.equal(check.status, 'completed');
    assert.equal(check.stopReason, 'max_evaluations');
    assert.equal(check.evaluationCount, budget);
    assert.equal(check.completed + check.failed, budget);
  });

  it('runner killed mid-trial: its lease expires, the trial is requeued and another runner completes it', async () => {
    const study = await expectCall(api.url, 'POST', '/v1/studies', userKey, studyBody(1), 201);
    const [runnerA, runnerB] = await registerRunners(api.url, runnerKey, 2);
    const runnerJs = join(__dirname, 'runner-process.js');
    const child = spawn(process.execPath, [runnerJs, api.url, runnerA.id, runnerA.token, study.id as string], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const firstLine = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        if (buffered.includes('\n')) resolve(buffered.split('\n')[0]);
      });
      child.once('exit', () => reject(new Error('runner process exited before leasing')));
    });
    const leased = JSON.parse(firstLine) as { trialId: string; attempt: number };
    assert.equal(leased.attempt, 1);
    await sleep(1500); // at least one heartbeat: the runner was "training"
    child.kill('SIGKILL');
    await exited;

    // Runner B gets nothing while A's lease is alive (budget 1, one trial), then the requeued trial.
    const deadline = Date.now() + 30_000;
    let trial: { id: string; attempt: number; parameters: Record<string, number> } | null = null;
    while (trial === null) {
      assert.ok(Date.now() < deadline, 'the trial was never requeued');
      const response = await call(api.url, 'POST', `/v1/runners/${runnerB.id}/lease`, runnerB.token, {
        studyId: study.id,
      });
      if (response.status === 200) trial = response.body.trial;
      else {
        assert.equal(response.status, 204);
        assert.equal(response.headers.get('meshtune-study-status'), 'active');
        await sleep(250);
      }
    }
    assert.equal(trial.id, leased.trialId);
    assert.equal(trial.attempt, 2);
    await expectCall(
      api.url,
      'POST',
      `/v1/trials/${trial.id}/complete`,
      runnerB.token,
      { outputs: { loss: objectiveOf(trial.parameters) } },
      200,
    );
    const finished = await expectCall(api.url, 'GET', `/v1/studies/${study.id}`, userKey, undefined, 200);
    assert.equal(finished.status, 'completed');

    const client = new Client({ connectionString: database.ownerUrl });
    await client.connect();
    try {
      const leases = (
        await client.query(
          'SELECT attempt, runner_id, outcome FROM trial_leases WHERE trial_id = $1 ORDER BY attempt',
          [trial.id],
        )
      ).rows;
      assert.deepEqual(leases, [
        { attempt: 1, runner_id: runnerA.id, outcome: 'expired' },
        { attempt: 2, runner_id: runnerB.id, outcome: 'completed' },
      ]);
      const row = (await client.query('SELECT evaluation_count FROM studies WHERE id = $1', [study.id])).rows[0];
      assert.equal(row.evaluation_count, 1);
    } finally {
      await client.end();
    }
  });
});

describe('kill -9 of an API that owns its embedded PostgreSQL (no DATABASE_URL)', { timeout: 240_000 }, () => {
  for (const postgresToo of [false, true]) {
    it(`starts again on the same MESHTUNE_DATA_DIR${postgresToo ? ' (postgres killed too: stale postmaster.pid)' : ' (its postgres still running)'}`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-crash-embedded-'));
      const adminKey = newAdminKey();
      let second: ApiProcess | null = null;
      try {
        const first = await spawnApi({ adminKey, dataDir });
        const userKey = await createApiKey(first.url, adminKey, 'user');
        first.child.kill('SIGKILL');
        await first.exited;
        const pid = postmasterPid(dataDir);
        assert.ok(pid !== null, 'postmaster.pid exists after the kill');
        if (postgresToo) {
          process.kill(pid, 'SIGKILL');
          for (let waited = 0; waited < 5000 && isAlive(pid); waited += 100) await sleep(100);
        }
        second = await spawnApi({ adminKey, dataDir, readyTimeoutMs: 60_000 });
        // Same database: the key made before the kill still works.
        await expectCall(second.url, 'GET', '/v1/studies', userKey, undefined, 200);
        await second.stop();
        assert.equal(postmasterPid(dataDir), null, 'a SIGTERM stop leaves no postmaster.pid');
      } finally {
        if (second !== null) await second.stop();
        await stopOrphanedPostgres(dataDir);
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }

  it('refuses a second API on the data folder of one that runs, and leaves the first its database', async () => {
    // Finding 50: the second adopted the first's server as if it were a crash's orphan; stopped
    // (its port in use, Ctrl-C), it stopped that server too, and the first answered 503 until its
    // supervisor had restarted it.
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-second-embedded-'));
    const adminKey = newAdminKey();
    let first = null as ApiProcess | null;
    let second = null as ApiProcess | null;
    try {
      first = await spawnApi({ adminKey, dataDir });
      const userKey = await createApiKey(first.url, adminKey, 'user');
      const postmaster = postmasterPid(dataDir);
      const refusal = await spawnApi({ adminKey, dataDir, readyTimeoutMs: 60_000 }).then(
        (started) => {
          second = started;
          return null;
        },
        (error: Error) => error,
      );
      assert.ok(refusal !== null, "a second API started on the first one's data folder");
      assert.match(refusal.message, new RegExp(`another meshtune API \\(pid ${first.child.pid}\\) is serving`));
      assert.equal(postmasterPid(dataDir), postmaster, 'the first API keeps the same PostgreSQL server');
      await expectCall(first.url, 'GET', '/v1/studies', userKey, undefined, 200);
      assert.doesNotMatch(first.output(), /stopped unexpectedly/);
    } finally {
      if (second !== null) await second.stop();
      if (first !== null) await first.stop();
      await stopOrphanedPostgres(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
