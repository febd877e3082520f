import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { type AppConfig, ConfigError, loadConfig, type RateLimits } from '../../api/src/config/app-config';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import { RATE_LIMIT_TABLE } from '../../api/src/rate-limit/request-budgets';
import { auth, createProject, expectStatus, projectKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: budgets counted per process while the service runs several (docs/reliability.md, finding
 * 31). Two API instances on one real database: with the default `memory` store a key gets its
 * budget from each (twice in all); with MESHTUNE_RATE_LIMIT_STORE=postgres they share one.
 * The window is a minute so that no budget refills while a test runs.
 */
const LIMITS: RateLimits = { windowSeconds: 60, keyPerSecond: 1, projectPerSecond: 1, expensivePerSecond: 0 };
const KEY_BUDGET = LIMITS.keyPerSecond * LIMITS.windowSeconds; // 60 requests

/** Requests of `key` sent to the two instances in turn until one is refused: how many succeeded, and that refusal. */
async function spend(
  pair: TestServer[],
  key: string,
): Promise<{ ok: number; refusal: { status: number; body: Record<string, unknown> } }> {
  for (let ok = 0; ok <= 3 * KEY_BUDGET; ok++) {
    const response = await pair[ok % 2]!.http.get('/v1/studies').set(...auth(key));
    if (response.status !== 200) return { ok, refusal: response };
  }
  throw new Error('never refused');
}

describe('request budgets across API instances on one database', () => {
  let dataDir: string;
  let database: EmbeddedDatabase;
  const servers: TestServer[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meshtune-shared-budgets-'));
    database = await startEmbeddedPostgres(dataDir, null);
  });
  after(async () => {
    for (const server of servers) await server.close();
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function pairOf(store: AppConfig['rateLimitStore']): Promise<TestServer[]> {
    const adminKey = `mt_admin_test_shared_${store}_0123456789abcdef`;
    const pair: TestServer[] = [];
    for (let i = 0; i < 2; i++) {
      const server = await startTestServer({
        databaseUrl: database.appUrl,
        migrationDatabaseUrl: database.ownerUrl,
        adminKey,
        rateLimits: LIMITS,
        rateLimitStore: store,
      });
      servers.push(server);
      pair.push(server);
    }
    return pair;
  }

  it('memory (the default): each instance counts on its own, so a key gets its budget twice', async () => {
    const pair = await pairOf('memory');
    const key = await projectKey(pair[0]!, 'user', await createProject(pair[0]!, { name: 'memory' }));
    const { ok, refusal } = await spend(pair, key);
    assert.equal(ok, 2 * KEY_BUDGET);
    assert.equal(refusal.status, 429);
  });

  it('postgres: the two instances share one budget per key and per project, counted in the database', async () => {
    const pair = await pairOf('postgres');
    const projectId = await createProject(pair[0]!, { name: 'shared' });
    const key = await projectKey(pair[0]!, 'user', projectId);
    const { ok, refusal } = await spend(pair, key);
    assert.equal(ok, KEY_BUDGET);
    assert.equal(refusal.status, 429);
    assert.equal(refusal.body.code, 'RATE_LIMITED');
    assert.deepEqual((refusal.body.details as { budget: string }).budget, 'key');
    // Both instances refuse the key now, and the project's other keys (1 request a second, 60 in
    // all, spent by the key above): counted once for the pair.
    for (const server of pair) {
      assert.equal((await server.http.get('/v1/studies').set(...auth(key))).status, 429);
    }
    const other = await projectKey(pair[1]!, 'user', projectId);
    const projectRefusal = await pair[1]!.http.get('/v1/studies').set(...auth(other));
    assert.equal(projectRefusal.status, 429);
    assert.equal(projectRefusal.body.details.budget, 'project');
    // Another project is not charged.
    const elsewhere = await projectKey(pair[1]!, 'user', await createProject(pair[1]!, { name: 'elsewhere' }));
    expectStatus(await pair[0]!.http.get('/v1/studies').set(...auth(elsewhere)), 200);

    const client = new Client({ connectionString: database.ownerUrl });
    await client.connect();
    try {
      const rows = await client.query<{ key: string; points: number }>(
        `SELECT key, points FROM ${RATE_LIMIT_TABLE} WHERE key LIKE 'project:%' ORDER BY points DESC`,
      );
      assert.ok(
        rows.rows.some((row) => row.key === `project:project:${projectId}` && row.points >= KEY_BUDGET),
        JSON.stringify(rows.rows),
      );
    } finally {
      await client.end();
    }
  });

  it('MESHTUNE_RATE_LIMIT_STORE is memory (default) or postgres, named when it is not', () => {
    assert.equal(loadConfig({}).rateLimitStore, 'memory');
    assert.equal(loadConfig({ MESHTUNE_RATE_LIMIT_STORE: 'postgres' }).rateLimitStore, 'postgres');
    assert.throws(
      () => loadConfig({ MESHTUNE_RATE_LIMIT_STORE: 'redis' }),
      (error: unknown) => error instanceof ConfigError && /MESHTUNE_RATE_LIMIT_STORE/.test(error.message),
    );
  });
});
