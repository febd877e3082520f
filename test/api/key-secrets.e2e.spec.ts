import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../../api/src/config/app-config';
import { auth, createKey, expectStatus, registerRunner } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface KeyRow {
  id: string;
  key_hash: string;
  key_salt: string | null;
  key_prefix: string;
}

/** Every substring of `text` of `length` characters. */
function pieces(text: string, length: number): string[] {
  return Array.from({ length: Math.max(0, text.length - length + 1) }, (_, index) => text.slice(index, index + length));
}

describe('API key secrets', () => {
  let test: TestServer;
  let dataSource: DataSource;

  before(async () => {
    test = await startTestServer();
    dataSource = test.get(DataSource);
  });
  after(async () => test.close());

  async function chosenRow(): Promise<KeyRow> {
    const rows = (await dataSource.query(
      `SELECT id, key_hash, key_salt, key_prefix FROM api_keys WHERE name = 'admin (MESHTUNE_ADMIN_KEY)'`,
    )) as KeyRow[];
    assert.equal(rows.length, 1);
    return rows[0];
  }

  it('the chosen MESHTUNE_ADMIN_KEY is stored with a salted slow hash and listed by a fingerprint only', async () => {
    const row = await chosenRow();
    assert.notEqual(row.key_hash, sha256(test.adminKey), 'not an unsalted SHA-256 an offline search recovers');
    assert.ok(row.key_salt !== null && row.key_salt.length >= 16);
    const listed = expectStatus(await test.http.get('/v1/api-keys').set(...auth(test.adminKey)), 200).body.items as {
      id: string;
      keyPrefix: string;
    }[];
    const shown = listed.find((item) => item.id === row.id)!.keyPrefix;
    assert.match(shown, /^chosen:[0-9a-f]{6}$/);
    for (const piece of pieces(test.adminKey, 4)) {
      assert.ok(!shown.includes(piece), `the listing shows none of the key's characters (${piece})`);
    }
    expectStatus(await test.http.get('/v1/studies').set(...auth(test.adminKey)), 200);
    expectStatus(await test.http.get('/v1/studies').set(...auth(`${test.adminKey}x`)), 401);
  });

  it('generated keys show their scope tag and at most 4 random characters', async () => {
    for (const scope of ['admin', 'user', 'runner'] as const) {
      const created = expectStatus(
        await test.http
          .post('/v1/api-keys')
          .set(...auth(test.adminKey))
          .send({ name: `prefix ${scope}`, scope }),
        201,
      ).body as { key: string; keyPrefix: string };
      assert.ok(created.key.startsWith(created.keyPrefix));
      assert.ok(created.keyPrefix.length - `mt_${scope}_`.length <= 4, created.keyPrefix);
    }
  });

  it('a row stored by an earlier version (SHA-256, 12 characters shown) is upgraded at start-up', async () => {
    const row = await chosenRow();
    await dataSource.query('UPDATE api_keys SET key_hash = $2, key_salt = NULL, key_prefix = $3 WHERE id = $1', [
      row.id,
      sha256(test.adminKey),
      test.adminKey.slice(0, 12),
    ]);
    await test.restart();
    dataSource = test.get(DataSource);
    const upgraded = await chosenRow();
    assert.equal(upgraded.id, row.id, 'the same key, not a second admin key');
    assert.notEqual(upgraded.key_hash, sha256(test.adminKey));
    assert.ok(upgraded.key_salt !== null);
    assert.match(upgraded.key_prefix, /^chosen:/);
    expectStatus(await test.http.get('/v1/api-keys').set(...auth(test.adminKey)), 200);
  });

  it('revoking a runner-scope key revokes the runner tokens registered with it, and only those', async () => {
    const fleetKey = await createKey(test, 'runner', 'fleet A');
    const otherKey = await createKey(test, 'runner', 'fleet B');
    const a1 = await registerRunner(test, fleetKey, 'a1');
    const a2 = await registerRunner(test, fleetKey, 'a2');
    const b1 = await registerRunner(test, otherKey, 'b1');
    for (const runner of [a1, a2, b1]) {
      expectStatus(await test.http.post(`/v1/runners/${runner.id}/heartbeat`).set(...auth(runner.token)), 200);
    }
    const keys = expectStatus(await test.http.get('/v1/api-keys?limit=500').set(...auth(test.adminKey)), 200).body
      .items as { id: string; name: string }[];
    const fleetKeyId = keys.find((key) => key.name === 'fleet A')!.id;
    expectStatus(await test.http.delete(`/v1/api-keys/${fleetKeyId}`).set(...auth(test.adminKey)), 204);
    for (const runner of [a1, a2]) {
      const heartbeat = await test.http.post(`/v1/runners/${runner.id}/heartbeat`).set(...auth(runner.token));
      assert.equal(heartbeat.status, 401, 'a token minted with a revoked key stops working at once');
      assert.equal((await test.http.post(`/v1/runners/${runner.id}/lease`).set(...auth(runner.token))).status, 401);
    }
    expectStatus(await test.http.post(`/v1/runners/${b1.id}/heartbeat`).set(...auth(b1.token)), 200);
    expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(fleetKey))
        .send({ name: 'late' }),
      401,
    );
    // The listing no longer shows the revoked tokens either.
    const after = expectStatus(await test.http.get('/v1/api-keys?limit=500').set(...auth(test.adminKey)), 200).body
      .items as { runnerId: string | null }[];
    assert.ok(!after.some((key) => key.runnerId === a1.id || key.runnerId === a2.id));
    assert.ok(after.some((key) => key.runnerId === b1.id));
  });
});

describe('weak chosen admin keys are refused at start-up', () => {
  it('loadConfig: too short, or too few distinct characters, is a ConfigError naming MESHTUNE_ADMIN_KEY', () => {
    for (const weak of ['short-key', 'aaaaaaaaaaaaaaaaaaaaaaaa', '1234123412341234']) {
      assert.throws(
        () => loadConfig({ MESHTUNE_ADMIN_KEY: weak }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /MESHTUNE_ADMIN_KEY/);
          return true;
        },
      );
    }
    assert.equal(loadConfig({ MESHTUNE_ADMIN_KEY: 'Xk7#pQ2v!Lm9$Rt4' }).adminKey, 'Xk7#pQ2v!Lm9$Rt4');
  });

  it('the real process exits with a clear message before starting anything', () => {
    const result = spawnSync(process.execPath, ['dist/api/src/main.js'], {
      env: { ...process.env, MESHTUNE_ADMIN_KEY: 'abababababababababab', DATABASE_URL: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /MESHTUNE_ADMIN_KEY is too easy to guess/);
  });
});

describe('the failed-authentication limiter refuses failures, not valid keys', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 5 });
  });
  after(async () => test.close());

  it('from a limited address: guesses get 429, valid generated keys and runner tokens still work', async () => {
    const userKey = await createKey(test, 'user');
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    for (let attempt = 0; attempt < 5; attempt += 1) {
      assert.equal((await test.http.get('/v1/studies').set(...auth(`guess-${attempt}-0123456789abcdef`))).status, 401);
    }
    const guessed = await test.http.get('/v1/studies').set(...auth('guess-again-0123456789abcdef'));
    assert.equal(guessed.status, 429);
    assert.equal(guessed.body.code, 'TOO_MANY_REQUESTS');
    // A well-formed but unknown key is refused with 429 too: the answer says nothing about it.
    const unknown = `mt_user_${'A'.repeat(43)}`;
    assert.equal((await test.http.get('/v1/studies').set(...auth(unknown))).status, 429);
    assert.equal((await test.http.get('/v1/studies').set(...auth(userKey))).status, 200);
    assert.equal(
      (await test.http.post(`/v1/runners/${runner.id}/heartbeat`).set(...auth(runner.token))).status,
      200,
      'a runner behind the same address keeps working',
    );
    // The chosen admin key could be guessable: it waits like any guess.
    assert.equal((await test.http.get('/v1/studies').set(...auth(test.adminKey))).status, 429);
  });
});

describe('client address behind a proxy (MESHTUNE_TRUST_PROXY)', () => {
  it('without it, X-Forwarded-For is ignored: a guesser cannot escape the limit by changing it', async () => {
    const test = await startTestServer({ authFailuresPerMinute: 3 });
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const response = await test.http
          .get('/v1/studies')
          .set('X-Forwarded-For', `10.0.0.${attempt}`)
          .set(...auth(`guess-${attempt}-0123456789abcdef`));
        assert.equal(response.status, 401);
      }
      const next = await test.http
        .get('/v1/studies')
        .set('X-Forwarded-For', '10.0.0.99')
        .set(...auth('guess-x-0123456789abcdef'));
      assert.equal(next.status, 429);
    } finally {
      await test.close();
    }
  });

  it('with the proxy trusted, each forwarded client has its own limit', async () => {
    const test = await startTestServer({ authFailuresPerMinute: 3, trustProxy: ['127.0.0.1'] });
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const response = await test.http
          .get('/v1/studies')
          .set('X-Forwarded-For', '10.0.0.1')
          .set(...auth(`guess-${attempt}-0123456789abcdef`));
        assert.equal(response.status, 401);
      }
      const limited = await test.http
        .get('/v1/studies')
        .set('X-Forwarded-For', '10.0.0.1')
        .set(...auth('guess-x-0123456789abcdef'));
      assert.equal(limited.status, 429);
      const neighbour = await test.http
        .get('/v1/studies')
        .set('X-Forwarded-For', '10.0.0.2')
        .set(...auth(test.adminKey));
      assert.equal(neighbour.status, 200, 'another client behind the proxy is not limited');
    } finally {
      await test.close();
    }
    assert.deepEqual(loadConfig({ MESHTUNE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }).trustProxy, [
      '127.0.0.1',
      '10.0.0.0/8',
    ]);
    assert.equal(loadConfig({}).trustProxy, false);
    assert.throws(() => loadConfig({ MESHTUNE_TRUST_PROXY: 'evil host' }), /MESHTUNE_TRUST_PROXY/);
  });
});
