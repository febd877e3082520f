import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  assertLeasedTo,
  auth,
  createKey,
  createKeyWithId,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const ZERO_ID = '00000000-0000-4000-8000-000000000000';

describe('authentication and scopes', () => {
  let test: TestServer;
  let keys: Record<'admin' | 'user' | 'runner', string>;
  let runnerA: TestRunner;
  let runnerB: TestRunner;
  let studyId: string;
  let trialOfA: string;

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 100 });
    keys = { admin: test.adminKey, user: await createKey(test, 'user'), runner: await createKey(test, 'runner') };
    runnerA = await registerRunner(test, keys.runner, 'a');
    runnerB = await registerRunner(test, keys.runner, 'b');
    studyId = String((await createStudy(test, keys.user, quadraticStudy())).id);
    trialOfA = expectStatus(await lease(test, runnerA, studyId), 200).body.trial.id as string;
  });
  after(async () => test.close());

  type Route = {
    method: 'get' | 'post' | 'delete';
    path: () => string;
    allowed: ('admin' | 'user' | 'runner' | 'runnerToken')[];
  };
  const routes: Route[] = [
    { method: 'get', path: () => '/v1/studies', allowed: ['admin', 'user'] },
    { method: 'post', path: () => '/v1/studies', allowed: ['admin', 'user'] },
    { method: 'get', path: () => `/v1/studies/${studyId}`, allowed: ['admin', 'user'] },
    { method: 'post', path: () => `/v1/studies/${ZERO_ID}/pause`, allowed: ['admin', 'user'] },
    { method: 'get', path: () => `/v1/studies/${studyId}/trials`, allowed: ['admin', 'user'] },
    { method: 'get', path: () => `/v1/trials/${trialOfA}`, allowed: ['admin', 'user'] },
    { method: 'get', path: () => '/v1/runners', allowed: ['admin', 'user'] },
    { method: 'post', path: () => '/v1/runners', allowed: ['admin', 'runner', 'runnerToken'] },
    { method: 'post', path: () => `/v1/runners/${runnerA.id}/heartbeat`, allowed: ['runnerToken'] },
    { method: 'post', path: () => `/v1/runners/${runnerA.id}/lease`, allowed: ['runnerToken'] },
    { method: 'post', path: () => `/v1/trials/${trialOfA}/heartbeat`, allowed: ['runnerToken'] },
    { method: 'get', path: () => '/v1/api-keys', allowed: ['admin'] },
    { method: 'post', path: () => '/v1/api-keys', allowed: ['admin'] },
    { method: 'delete', path: () => `/v1/api-keys/${ZERO_ID}`, allowed: ['admin'] },
  ];

  for (const route of routes) {
    it(`${route.method.toUpperCase()} ${route.path.toString().replace(/^\(\) => /, '')}: 401 without a key, 403 with the wrong scope`, async () => {
      const noKey = expectStatus(await test.http[route.method](route.path()), 401).body;
      assert.equal(noKey.code, 'UNAUTHENTICATED');
      const badKey = expectStatus(
        await test.http[route.method](route.path()).set(...auth('mt_user_not-a-real-key')),
        401,
      ).body;
      assert.equal(badKey.code, 'UNAUTHENTICATED');
      const callers: Record<string, string> = { ...keys, runnerToken: runnerA.token };
      for (const [name, key] of Object.entries(callers)) {
        const response = await test.http[route.method](route.path())
          .set(...auth(key))
          .send({});
        if (route.allowed.includes(name as Route['allowed'][number])) {
          assert.notEqual(response.status, 401, `${name} should be authenticated`);
          assert.notEqual(response.status, 403, `${name} should be allowed: ${JSON.stringify(response.body)}`);
        } else {
          assert.equal(response.status, 403, `${name} should be forbidden, got ${response.status}`);
          assert.equal(response.body.code, 'FORBIDDEN');
        }
      }
    });
  }

  it("rejects runner B acting on runner A's runner or trial", async () => {
    const asA = expectStatus(
      await test.http
        .post(`/v1/runners/${runnerA.id}/lease`)
        .set(...auth(runnerB.token))
        .send({}),
      403,
    ).body;
    assert.equal(asA.code, 'FORBIDDEN');
    for (const action of ['heartbeat', 'complete', 'fail', 'release'] as const) {
      const body = action === 'complete' ? { outputs: { loss: 1 } } : action === 'fail' ? { error: 'x' } : {};
      const response = expectStatus(await report(test, runnerB, trialOfA, action, body), 403).body;
      assert.equal(response.code, 'TRIAL_NOT_LEASED_TO_RUNNER', action);
    }
    await assertLeasedTo(test, keys.user, trialOfA, runnerA);
  });

  it('never returns a key after creation, and a revoked key stops working at once', async () => {
    const created = await createKeyWithId(test, 'user', 'temp');
    assert.match(created.key, /^mt_user_/);
    const listed = expectStatus(await test.http.get('/v1/api-keys?limit=500').set(...auth(keys.admin)), 200);
    assert.ok(!JSON.stringify(listed.body).includes(created.key), 'a listing never holds a key');
    assert.ok(
      listed.body.items.some(
        (item: { id: string; keyPrefix: string }) => item.id === created.id && created.key.startsWith(item.keyPrefix),
      ),
    );
    expectStatus(await test.http.get('/v1/studies').set(...auth(created.key)), 200);
    expectStatus(await test.http.delete(`/v1/api-keys/${created.id}`).set(...auth(keys.admin)), 204);
    expectStatus(await test.http.get('/v1/studies').set(...auth(created.key)), 401);
  });

  it('lets health and docs through without a key', async () => {
    expectStatus(await test.http.get('/health'), 200);
    expectStatus(await test.http.get('/health/ready'), 200);
    expectStatus(await test.http.get('/openapi.json'), 200);
    const docs = expectStatus(await test.http.get('/docs/'), 200);
    assert.match(docs.text, /swagger/i);
  });

  it('lets no other site frame the API reference, whose dialog takes a key', async () => {
    for (const path of ['/docs', '/docs/', '/docs/swagger-ui-init.js']) {
      const response = await test.http.get(path);
      assert.equal(response.headers['x-frame-options'], 'DENY', path);
      assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/, path);
    }
  });

  // Finding 24: the headers were set on a match of the raw URL, so `/docs?x=1` (the same page)
  // could be framed. Any way of writing the URL of a page (query strings, `/./`, a trailing
  // slash, `index.html`) must carry them.
  it('lets no other site frame a page, however its URL is written', async () => {
    const page = fc.constantFrom('/docs', '/docs/', '/docs/index.html', '/', '/index.html');
    const query = fc.oneof(
      fc.constant(''),
      fc.constant('?'),
      fc.stringMatching(/^\?[\w=&.~-]{0,20}$/),
      fc.constantFrom('?url=https://evil.example/openapi.json', '?configUrl=x', '?%00', '?#'),
    );
    const prefix = fc.constantFrom('', '/.', '/docs/..');
    const reached = new Set<string>();
    await fc.assert(
      fc.asyncProperty(prefix, page, query, async (before, path, search) => {
        const url = `${before}${path}${search}`;
        const response = await test.http.get(url);
        if (response.status !== 200) return;
        reached.add(path);
        assert.equal(response.headers['x-frame-options'], 'DENY', url);
        assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/, url);
      }),
      { numRuns: 150 },
    );
    assert.equal(reached.size, 5, `pages reached: ${[...reached].join(', ')}`);
  });

  it('keeps CORS closed by default', async () => {
    const response = await test.http
      .options('/v1/studies')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'GET');
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  it('answers 429 after repeated failed authentications from one address', async () => {
    let limited = false;
    for (let attempt = 0; attempt < 150 && !limited; attempt += 1) {
      const response = await test.http.get('/v1/studies').set(...auth(`mt_user_guess_${attempt}`));
      limited = response.status === 429;
      if (limited) assert.equal(response.body.code, 'TOO_MANY_REQUESTS');
    }
    assert.ok(limited, 'guessing keys must be rate limited');
  });
});
