import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import {
  checkStudy,
  createApiKey,
  expectCall,
  newAdminKey,
  newRunRecord,
  registerRunners,
  runnerLoop,
  sleep,
  spawnApi,
} from './cluster';
import { engineEvaluationCount } from './concurrency-scenario';

/** The pids that answered requests, from the API's JSON request logs. */
function pidsThatServed(output: string): Set<number> {
  const pids = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.includes('"message":"request"')) continue;
    pids.add((JSON.parse(line) as { pid: number }).pid);
  }
  return pids;
}

describe('MESHTUNE_WORKERS: several API processes sharing one port', () => {
  it('serves a study to completion from every worker, with every database guarantee', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-workers-'));
    const database = await startEmbeddedPostgres(dataDir, null);
    const adminKey = newAdminKey();
    const api = await spawnApi({
      adminKey,
      databaseUrl: database.appUrl,
      migrationDatabaseUrl: database.ownerUrl,
      env: { MESHTUNE_WORKERS: '3', MESHTUNE_LOG_LEVEL: 'info' },
    });
    try {
      while (!api.output().includes('3 API workers listening')) await sleep(100);
      const userKey = await createApiKey(api.url, adminKey, 'user');
      const runnerKey = await createApiKey(api.url, adminKey, 'runner');
      const study = await expectCall(
        api.url,
        'POST',
        '/v1/studies',
        userKey,
        {
          name: 'workers',
          parameters: [
            { name: 'x', type: 'real', lower: -5, upper: 5 },
            { name: 'y', type: 'real', lower: -5, upper: 5 },
          ],
          outputs: [{ name: 'loss', type: 'objective' }],
          budget: { maxEvaluations: 120, leaseSeconds: 600 },
          algorithm: { name: 'mads', seed: 11 },
        },
        201,
      );
      const record = newRunRecord();
      const runners = await registerRunners(api.url, runnerKey, 12);
      await Promise.all(
        runners.map((runner, index) =>
          runnerLoop(runner, {
            urls: () => [api.url],
            studyId: study.id as string,
            record,
            offset: index,
            deadline: Date.now() + 120_000,
          }),
        ),
      );
      const check = await checkStudy(database.ownerUrl, study.id as string, record, engineEvaluationCount);
      assert.deepEqual(check.problems, []);
      assert.equal(check.status, 'completed');
      const pids = pidsThatServed(api.output());
      assert.ok(
        pids.size >= 2,
        `requests were served by more than one worker (${[...pids].join(', ')}): ${api.output().slice(0, 1500)}`,
      );
    } finally {
      await api.stop();
      await database.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('owns the embedded database: SIGTERM drains the workers, then stops it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-workers-'));
    try {
      const api = await spawnApi({ adminKey: newAdminKey(), dataDir, env: { MESHTUNE_WORKERS: '2' } });
      assert.ok(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 'the primary started PostgreSQL');
      await api.stop();
      assert.deepEqual(await api.exited, { code: 0, signal: null });
      assert.ok(!existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 'PostgreSQL was stopped');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
