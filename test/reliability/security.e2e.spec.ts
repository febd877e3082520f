import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';
import { call, createApiKey, expectCall, newAdminKey, spawnApi } from './cluster';

type Caller = 'admin' | 'user' | 'runner' | 'runnerToken';
const PUBLIC = new Set(['GET /health', 'GET /health/ready']);

/**
 * Who may call each operation of the OpenAPI document. Every operation must be listed here, so a
 * new route fails this test until its access is decided. (test/api/auth.e2e.spec.ts checks a
 * subset with 401/403 codes; this covers every documented operation.)
 */
const ACCESS: Record<string, Caller[]> = {
  'GET /v1/api-keys': ['admin'],
  'POST /v1/api-keys': ['admin'],
  'DELETE /v1/api-keys/{keyId}': ['admin'],
  'GET /v1/runners': ['admin', 'user'],
  'POST /v1/runners': ['admin', 'runner', 'runnerToken'],
  'POST /v1/runners/{runnerId}/clear-quarantine': ['admin', 'user'],
  'POST /v1/runners/{runnerId}/heartbeat': ['runnerToken'],
  'POST /v1/runners/{runnerId}/lease': ['runnerToken'],
  'GET /v1/studies': ['admin', 'user'],
  'POST /v1/studies': ['admin', 'user'],
  'POST /v1/studies/import/nomad': ['admin', 'user'],
  'POST /v1/studies/{studyId}/import/nomad-cache': ['admin', 'user'],
  'GET /v1/studies/{studyId}': ['admin', 'user'],
  'GET /v1/studies/{studyId}/best': ['admin', 'user'],
  'GET /v1/studies/{studyId}/engine': ['admin', 'user'],
  'GET /v1/studies/{studyId}/history': ['admin', 'user'],
  'POST /v1/studies/{studyId}/pause': ['admin', 'user'],
  'POST /v1/studies/{studyId}/resume': ['admin', 'user'],
  'POST /v1/studies/{studyId}/stop': ['admin', 'user'],
  'GET /v1/studies/{studyId}/trials': ['admin', 'user'],
  'POST /v1/studies/{studyId}/trials': ['admin', 'user'],
  'GET /v1/trials/{trialId}': ['admin', 'user'],
  'POST /v1/trials/{trialId}/complete': ['runnerToken'],
  'POST /v1/trials/{trialId}/fail': ['runnerToken'],
  'POST /v1/trials/{trialId}/heartbeat': ['runnerToken'],
  'POST /v1/trials/{trialId}/release': ['runnerToken'],
};

function assertErrorBody(body: Record<string, unknown>, status: number, code: string): void {
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
}

describe('auth matrix over every operation of the OpenAPI document', () => {
  let test: TestServer;
  let keys: Record<'admin' | 'user' | 'runner', string>;
  let runnerA: TestRunner;
  let runnerB: TestRunner;
  let studyId: string;
  let trialOfA: string;
  let operations: { method: string; path: string }[];

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 1_000_000 });
    keys = { admin: test.adminKey, user: await createKey(test, 'user'), runner: await createKey(test, 'runner') };
    runnerA = await registerRunner(test, keys.runner, 'a');
    runnerB = await registerRunner(test, keys.runner, 'b');
    studyId = String((await createStudy(test, keys.user, quadraticStudy())).id);
    trialOfA = expectStatus(await lease(test, runnerA, studyId), 200).body.trial.id as string;
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
  });
  after(async () => test.close());

  const concrete = (path: string): string =>
    path
      .replace('{studyId}', studyId)
      // Acting on another runner's trial with the wrong scope must be refused before anything runs.
      .replace('{trialId}', trialOfA)
      .replace('{runnerId}', runnerA.id)
      .replace('{keyId}', '00000000-0000-4000-8000-000000000000');

  const send = (method: string, path: string, key: string | null) => {
    const verb = method.toLowerCase() as 'get' | 'post' | 'delete';
    const pending = test.http[verb](path);
    if (key !== null) pending.set(...auth(key));
    return verb === 'post' ? pending.send({}) : pending;
  };

  it('every documented operation is classified here (public or its scopes)', () => {
    const unknown = operations
      .map((operation) => `${operation.method} ${operation.path}`)
      .filter((name) => !PUBLIC.has(name) && ACCESS[name] === undefined);
    assert.deepEqual(unknown, []);
  });

  it('no key, a malformed header, an unknown key: 401 with the error body, on every protected operation', async () => {
    for (const { method, path } of operations) {
      if (PUBLIC.has(`${method} ${path}`)) continue;
      for (const header of [null, 'Basic abc', 'Bearer mt_user_0123456789abcdef0123456789abcdef']) {
        const pending = send(method, concrete(path), null);
        if (header !== null) pending.set('Authorization', header);
        const response = await pending;
        assert.equal(response.status, 401, `${method} ${path} with ${header}: ${response.status}`);
        assertErrorBody(response.body, 401, 'UNAUTHENTICATED');
      }
    }
  });

  it('wrong scope: 403 FORBIDDEN; allowed callers are never 401/403', async () => {
    const callers: Record<Caller, string> = { ...keys, runnerToken: runnerA.token };
    // Routes that change state are tried last, with allowed callers, so the matrix does not disturb itself.
    for (const { method, path } of operations) {
      const name = `${method} ${path}`;
      if (PUBLIC.has(name)) continue;
      for (const [caller, key] of Object.entries(callers) as [Caller, string][]) {
        if (ACCESS[name].includes(caller)) continue;
        const response = await send(method, concrete(path), key);
        assert.equal(response.status, 403, `${caller} on ${name}: ${response.status} ${JSON.stringify(response.body)}`);
        assertErrorBody(response.body, 403, 'FORBIDDEN');
      }
    }
    for (const { method, path } of operations) {
      const name = `${method} ${path}`;
      if (PUBLIC.has(name) || /\/(complete|fail|release|stop|pause)$/.test(path)) continue;
      for (const caller of ACCESS[name]) {
        const response = await send(method, concrete(path), callers[caller]);
        assert.ok(![401, 403].includes(response.status), `${caller} on ${name}: ${response.status}`);
        assert.ok(response.status < 500, `${caller} on ${name}: ${response.status} ${JSON.stringify(response.body)}`);
      }
    }
  });

  it("another runner's token: 403 on A's runner routes and on every report of A's trial; A's lease is untouched", async () => {
    for (const path of [`/v1/runners/${runnerA.id}/lease`, `/v1/runners/${runnerA.id}/heartbeat`]) {
      const response = await test.http
        .post(path)
        .set(...auth(runnerB.token))
        .send({});
      assert.equal(response.status, 403, path);
      assertErrorBody(response.body, 403, 'FORBIDDEN');
    }
    const reports: [string, Record<string, unknown>][] = [
      ['heartbeat', { progress: 0.5 }],
      ['complete', { outputs: { loss: 1 } }],
      ['fail', { error: 'not mine' }],
      ['release', {}],
    ];
    for (const [report, body] of reports) {
      const response = await test.http
        .post(`/v1/trials/${trialOfA}/${report}`)
        .set(...auth(runnerB.token))
        .send(body);
      assert.equal(response.status, 403, `${report}: ${JSON.stringify(response.body)}`);
      assertErrorBody(response.body, 403, 'TRIAL_NOT_LEASED_TO_RUNNER');
    }
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialOfA}`).set(...auth(keys.user)), 200).body;
    assert.equal(trial.status, 'running');
    assert.equal(trial.runnerId, runnerA.id);
  });

  it('keys are shown once: never in lists, never in runner listings', async () => {
    const created = expectStatus(
      await test.http
        .post('/v1/api-keys')
        .set(...auth(keys.admin))
        .send({ name: 'shown once', scope: 'user' }),
      201,
    ).body;
    assert.equal(typeof created.key, 'string');
    const secrets = [keys.admin, keys.user, keys.runner, runnerA.token, runnerB.token, created.key as string];
    for (const path of ['/v1/api-keys', '/v1/api-keys?limit=100', '/v1/runners', `/v1/studies/${studyId}`]) {
      const response = expectStatus(await test.http.get(path).set(...auth(keys.admin)), 200);
      for (const secret of secrets) assert.ok(!response.text.includes(secret), `${path} returns a key`);
    }
    const listed = expectStatus(await test.http.get('/v1/api-keys').set(...auth(keys.admin)), 200).body;
    for (const item of listed.items as Record<string, unknown>[]) {
      assert.equal(item.key, undefined);
      assert.equal(item.keyHash, undefined);
    }
  });
});

describe('failed authentications are rate limited', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 5 });
  });
  after(async () => test.close());

  it('after 5 failures a minute from one address: 429 with the error body, even for the chosen admin key', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await test.http.get('/v1/studies').set(...auth(`mt_user_guess_${attempt}_0123456789abcdef`));
      assert.equal(response.status, 401);
    }
    const blocked = await test.http.get('/v1/studies').set(...auth('mt_user_guess_again_0123456789abcdef'));
    assert.equal(blocked.status, 429);
    assertErrorBody(blocked.body, 429, 'TOO_MANY_REQUESTS');
    // The chosen MESHTUNE_ADMIN_KEY could be guessable, so it waits; generated keys still work
    // from a limited address (test/api/key-secrets.e2e.spec.ts).
    const chosen = await test.http.get('/v1/api-keys').set(...auth(test.adminKey));
    assert.equal(chosen.status, 429);
    // Public routes stay up.
    assert.equal((await test.http.get('/health')).status, 200);
  });
});

describe('CORS', () => {
  it('closed by default: no Access-Control-Allow-Origin on preflight or on requests', async () => {
    const test = await startTestServer();
    try {
      const preflight = await test.http
        .options('/v1/studies')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type');
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.equal(preflight.headers['access-control-allow-headers'], undefined);
      const simple = await test.http.get('/health').set('Origin', 'https://evil.example');
      assert.equal(simple.headers['access-control-allow-origin'], undefined);
    } finally {
      await test.close();
    }
  });

  it('MESHTUNE_CORS_ORIGINS opens it to the listed origins only', async () => {
    const test = await startTestServer({ corsOrigins: ['https://dashboard.example'] });
    try {
      const allowed = await test.http.get('/health').set('Origin', 'https://dashboard.example');
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://dashboard.example');
      const other = await test.http.get('/health').set('Origin', 'https://evil.example');
      assert.notEqual(other.headers['access-control-allow-origin'], 'https://evil.example');
      assert.notEqual(other.headers['access-control-allow-origin'], '*');
    } finally {
      await test.close();
    }
  });
});

describe('keys never reach the logs (debug level, real process)', { timeout: 120_000 }, () => {
  it('no key, token or guessed key appears in stdout/stderr; request lines carry request ids', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-logs-'));
    const adminKey = newAdminKey();
    try {
      const api = await spawnApi({ adminKey, dataDir, env: { MESHTUNE_LOG_LEVEL: 'debug' } });
      let output: string;
      const secrets: string[] = [adminKey];
      let requestId = '';
      try {
        const userKey = await createApiKey(api.url, adminKey, 'user');
        const runnerKey = await createApiKey(api.url, adminKey, 'runner');
        secrets.push(userKey, runnerKey);
        const runner = await expectCall(api.url, 'POST', '/v1/runners', runnerKey, { name: 'r', gpus: 1 }, 201);
        secrets.push(runner.token as string);
        const study = await expectCall(api.url, 'POST', '/v1/studies', userKey, quadraticStudy(), 201);
        const leased = await expectCall(
          api.url,
          'POST',
          `/v1/runners/${runner.id}/lease`,
          runner.token,
          { studyId: study.id },
          200,
        );
        await expectCall(
          api.url,
          'POST',
          `/v1/trials/${leased.trial.id}/complete`,
          runner.token,
          { outputs: { loss: 2 } },
          200,
        );
        const guessed = 'mt_admin_guessed_0123456789abcdef01234567';
        secrets.push(guessed);
        await call(api.url, 'GET', '/v1/api-keys', guessed);
        await call(api.url, 'GET', `/v1/studies?key=${userKey}`, null);
        await call(api.url, 'POST', '/v1/api-keys', adminKey, { name: userKey, scope: 'nope' });
        const traced = await call(api.url, 'GET', '/v1/studies', userKey);
        requestId = traced.headers.get('x-request-id') ?? '';
      } finally {
        await api.stop();
        output = api.output();
      }
      for (const secret of secrets) {
        assert.ok(!output.includes(secret), `a key (${secret.slice(0, 12)}…) was logged`);
        assert.ok(!output.includes(secret.slice(-24)), `the secret part of a key (${secret.slice(0, 12)}…) was logged`);
      }
      assert.ok(requestId.length > 0);
      const lines = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const traced = lines.find((line) => JSON.stringify(line).includes(requestId));
      assert.ok(traced !== undefined, 'the request line carries the request id');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
