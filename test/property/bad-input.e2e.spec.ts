import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Response } from 'supertest';
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
import { ERROR_STATUS } from '../../api/src/common/errors/error-codes';
import { watchFuzzFigures } from '../support/fuzz-figures';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * docs/architecture.md, Errors and Input limits: bad input gets a 4xx with the error body
 * `{statusCode, code, message, details?, requestId?}`, never a 5xx; bodies, arrays and strings are
 * bounded; non-finite numbers (JSON `1e999` parses to Infinity) are rejected with a 400.
 */
const RUNS = Number(process.env.MESHTUNE_PROPERTY_RUNS ?? 120);

function assertClientError(response: Response, context: string): void {
  assert.ok(response.status < 500, `${context}: ${response.status} ${response.text.slice(0, 500)}`);
  if (response.status >= 400) {
    const body = response.body as Record<string, unknown>;
    assert.equal(body.statusCode, response.status, `${context}: ${response.text.slice(0, 300)}`);
    assert.equal(typeof body.code, 'string', context);
    assert.equal(typeof body.message, 'string', context);
  }
}

/** Any JSON value, with the numbers JSON can carry that JS reads as non-finite or huge. */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0, 0.1, 5e-324),
    fc.string({ maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Replaces the value at a random path of a valid body with an arbitrary one (or deletes it). */
function mutate(body: unknown, path: number[], replacement: unknown, remove: boolean): unknown {
  if (path.length === 0 || body === null || typeof body !== 'object') return replacement;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an array or an object, indexed by key
  const copy: any = Array.isArray(body) ? [...body] : { ...(body as object) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return replacement;
  const key = keys[path[0] % keys.length];
  if (path.length === 1 && remove) {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete copy[key];
    return copy;
  }
  copy[key] = mutate(copy[key], path.slice(1), replacement, remove);
  return copy;
}

const mutation = fc.record({
  path: fc.array(fc.nat(20), { minLength: 1, maxLength: 5 }),
  replacement: jsonValue,
  remove: fc.boolean(),
});

describe('bad input: never a 5xx, always the error body', { timeout: 300_000 }, () => {
  let figures: Awaited<ReturnType<typeof watchFuzzFigures>>;
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;
  let studyId: string;

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 1_000_000 });
    figures = await watchFuzzFigures(test);
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'));
    studyId = String(
      (await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 100_000, leaseSeconds: 60 } }))).id,
    );
  });
  after(async () => {
    try {
      await figures.report('bad input');
    } finally {
      await test.close();
    }
  });

  it('POST /v1/studies with a valid body mutated anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async ({ path, replacement, remove }) => {
        const body = mutate(quadraticStudy({ trainingConfig: { model: 'm' } }), path, replacement, remove);
        const response = await test.http
          .post('/v1/studies')
          .set(...auth(userKey))
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        assertClientError(response, `POST /v1/studies ${JSON.stringify(body)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/studies/{id}/trials with arbitrary points', async () => {
    await fc.assert(
      fc.asyncProperty(jsonValue, jsonValue, async (x, y) => {
        const response = await test.http
          .post(`/v1/studies/${studyId}/trials`)
          .set(...auth(userKey))
          .send({ parameters: { x, y } });
        assertClientError(response, `enqueue ${JSON.stringify({ x, y })}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('trial reports (heartbeat, complete, fail) with arbitrary bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('heartbeat', 'complete', 'fail'),
        fc.oneof(
          fc.record({ outputs: fc.dictionary(fc.constantFrom('loss', 'other', ''), jsonValue, { maxKeys: 3 }) }),
          fc.record({
            progress: jsonValue,
            metrics: fc.array(fc.record({ name: jsonValue, step: jsonValue, value: jsonValue }), { maxLength: 3 }),
          }),
          fc.record({ error: jsonValue, retryable: jsonValue }),
          jsonValue,
        ),
        async (report, body) => {
          const leased = await lease(test, runner, studyId);
          assert.equal(leased.status, 200, leased.text);
          const trialId = leased.body.trial.id as string;
          const response = await test.http
            .post(`/v1/trials/${trialId}/${report}`)
            .set(...auth(runner.token))
            .set('Content-Type', 'application/json')
            .send(JSON.stringify(body));
          assertClientError(response, `${report} ${JSON.stringify(body)}`);
          // Leave no running trial behind (bounded by maxParallelTrials otherwise).
          await test.http
            .post(`/v1/trials/${trialId}/release`)
            .set(...auth(runner.token))
            .send({});
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('query strings of the list routes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/v1/studies',
          `/v1/studies/${studyId}/trials`,
          '/v1/runners',
          `/v1/studies/${studyId}/history`,
        ),
        fc.dictionary(
          fc.constantFrom('limit', 'offset', 'status', 'format', 'origin', 'x'),
          fc.oneof(
            fc.string({ maxLength: 12 }),
            fc.integer().map(String),
            fc.constantFrom('1e999', '-1', 'NaN', 'Infinity', '99999999999999999999'),
          ),
        ),
        async (path, query) => {
          const response = await test.http
            .get(path)
            .query(query)
            .set(...auth(userKey));
          assertClientError(response, `GET ${path} ${JSON.stringify(query)}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('path parameters that are not UUIDs, or unknown UUIDs: 400 / 404 with the error body', async () => {
    for (const id of [
      'x',
      '1',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-4fff-bfff-ffffffffffff',
      '%00',
      'a'.repeat(300),
    ]) {
      for (const path of [
        `/v1/studies/${id}`,
        `/v1/trials/${id}`,
        `/v1/studies/${id}/trials`,
        `/v1/studies/${id}/best`,
      ]) {
        const response = await test.http.get(path).set(...auth(userKey));
        assertClientError(response, path);
        assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`);
      }
    }
  });

  it('a path the router refuses (not valid percent-encoding, a parameter too long) gets the API error body with a documented code and the request id', async () => {
    // Fastify's router answers these before any hook or filter: FST_ERR_BAD_URL 400s and
    // FST_ERR_MAX_PARAM_LENGTH 414s, codes outside the API's errors, no request id (finding 19).
    const paths = [
      '/v1/studies/%ED%A0%80', // a lone surrogate, UTF-8 encoded
      '/v1/studies/%E0%A4%A', // a truncated escape
      '/v1/trials/%FF/complete',
      `/v1/studies/${studyId}/trials?x=%FF`, // the query string is not the router's: the route answers
      `/v1/trials/${'a'.repeat(1001)}`,
      `/v1/studies/${'0'.repeat(5000)}/history`,
    ];
    for (const path of paths) {
      for (const method of ['get', 'post'] as const) {
        const response = await test.http[method](path)
          .set(...auth(userKey))
          .set('x-request-id', 'trace-me-1')
          .send(method === 'post' ? {} : undefined);
        assertClientError(response, `${method} ${path.slice(0, 60)}`);
        assert.ok(
          Object.keys(ERROR_STATUS).includes(response.body.code as string),
          `${method} ${path.slice(0, 60)}: code ${response.body.code} is not one of the API's`,
        );
        assert.equal(ERROR_STATUS[response.body.code as keyof typeof ERROR_STATUS], response.status);
        assert.equal(response.body.requestId, 'trace-me-1', `${path.slice(0, 60)}: the request id`);
        assert.equal(response.headers['x-request-id'], 'trace-me-1');
      }
    }
    const refused = await test.http.get('/v1/studies/%ED%A0%80').set(...auth(userKey));
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.details, [{ field: 'path', reason: 'is not valid percent-encoded UTF-8' }]);
  });

  it('non-finite numbers (1e999 in JSON) are rejected with 400 wherever a number is expected', async () => {
    const leased = expectStatus(await lease(test, runner, studyId), 200);
    const trialId = leased.body.trial.id as string;
    const raw = async (method: 'post', path: string, key: string, text: string): Promise<Response> =>
      test.http[method](path)
        .set(...auth(key))
        .set('Content-Type', 'application/json')
        .send(text);
    const cases: [string, string, string][] = [
      [`/v1/studies/${studyId}/trials`, userKey, '{"parameters":{"x":1e999,"y":1}}'],
      [`/v1/studies/${studyId}/trials`, userKey, '{"parameters":{"x":-1e999,"y":1}}'],
      [`/v1/trials/${trialId}/complete`, runner.token, '{"outputs":{"loss":1e999}}'],
      [`/v1/trials/${trialId}/complete`, runner.token, '{"outputs":{"loss":-1e999}}'],
      [`/v1/trials/${trialId}/heartbeat`, runner.token, '{"progress":1e999}'],
      [`/v1/trials/${trialId}/heartbeat`, runner.token, '{"metrics":[{"name":"l","step":1,"value":1e999}]}'],
      ['/v1/studies', userKey, JSON.stringify(quadraticStudy()).replace('"upper":5', '"upper":1e999')],
      ['/v1/studies', userKey, JSON.stringify(quadraticStudy()).replace('"x":2', '"x":1e999')],
    ];
    for (const [path, key, text] of cases) {
      const response = await raw('post', path, key, text);
      assert.equal(response.status, 400, `${path} ${text}: ${response.status} ${response.text}`);
      assertClientError(response, path);
      assert.equal(response.body.code, 'VALIDATION_FAILED');
    }
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body;
    assert.equal(trial.status, 'running', 'nothing half-written by a rejected report');
    await test.http
      .post(`/v1/trials/${trialId}/release`)
      .set(...auth(runner.token))
      .send({});
  });

  it('an unknown field whose name holds a regular-expression character: 400, not 500', async () => {
    const leased = expectStatus(await lease(test, runner, studyId), 200);
    const trialId = leased.body.trial.id as string;
    for (const key of ['(', '*', 'a[', '+x', '?']) {
      const cases: [string, string, Record<string, unknown>][] = [
        ['/v1/studies', userKey, { ...quadraticStudy(), [key]: 1 }],
        [`/v1/trials/${trialId}/heartbeat`, runner.token, { [key]: 0 }],
        ['/v1/api-keys', test.adminKey, { name: 'k', scope: 'user', [key]: true }],
      ];
      for (const [path, callerKey, body] of cases) {
        const response = await test.http
          .post(path)
          .set(...auth(callerKey))
          .send(body);
        assertClientError(response, `${path} with field ${JSON.stringify(key)}`);
        assert.equal(response.status, 400, `${path} with field ${JSON.stringify(key)}`);
      }
      const listed = await test.http
        .get('/v1/studies')
        .query({ [key]: '1' })
        .set(...auth(userKey));
      assertClientError(listed, `GET /v1/studies?${key}=1`);
    }
    await test.http
      .post(`/v1/trials/${trialId}/release`)
      .set(...auth(runner.token))
      .send({});
  });

  it('a study without its required budget: 400 at field budget, not 500', async () => {
    const { budget: _budget, ...withoutBudget } = quadraticStudy();
    for (const body of [withoutBudget, { ...withoutBudget, budget: null }]) {
      const response = await test.http
        .post('/v1/studies')
        .set(...auth(userKey))
        .send(body);
      assertClientError(response, `study ${JSON.stringify(body).slice(0, 80)}`);
      assert.equal(response.status, 400);
      assert.ok(
        (response.body.details as { field: string }[]).some((detail) => detail.field.startsWith('budget')),
        JSON.stringify(response.body),
      );
    }
  });

  it('a runner name of the largest allowed length registers (no 500 from the token key name)', async () => {
    const runnerKey = await createKey(test, 'runner');
    for (const length of [150, 195, 200]) {
      const response = await test.http
        .post('/v1/runners')
        .set(...auth(runnerKey))
        .send({ name: 'r'.repeat(length), gpus: 1 });
      assertClientError(response, `runner name of ${length} characters`);
      assert.equal(response.status, 201, `runner name of ${length} characters: ${response.status}`);
    }
  });

  it('deeply nested JSON (within the 5 MiB body limit) is a 4xx, not a stack overflow', async () => {
    for (const depth of [5_000, 50_000]) {
      const response = await test.http
        .post('/v1/studies')
        .set(...auth(userKey))
        .set('Content-Type', 'application/json')
        .send(`{"trainingConfig":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      assertClientError(response, `JSON nested ${depth} deep`);
    }
  });

  it('bodies, arrays and strings are bounded', async () => {
    const huge = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send(`{"name":"${'a'.repeat(6 * 1024 * 1024)}"}`);
    assert.equal(huge.status, 413);
    assertClientError(huge, 'huge body');
    assert.equal(huge.body.code, 'PAYLOAD_TOO_LARGE');

    const longName = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .send(quadraticStudy({ name: 'n'.repeat(10_000) }));
    assert.equal(longName.status, 400);
    assertClientError(longName, 'long name');

    const manyParameters = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .send(
        quadraticStudy({
          parameters: Array.from({ length: 5000 }, (_, index) => ({
            name: `p${index}`,
            type: 'real',
            lower: 0,
            upper: 1,
          })),
          x0: [],
        }),
      );
    assert.equal(manyParameters.status, 400);
    assertClientError(manyParameters, 'many parameters');

    const manyValues = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .send(
        quadraticStudy({
          parameters: [
            { name: 'c', type: 'categorical', values: Array.from({ length: 100_000 }, (_, index) => `v${index}`) },
          ],
          x0: [],
        }),
      );
    assert.equal(manyValues.status, 400);
    assertClientError(manyValues, 'many values');

    const leased = expectStatus(await lease(test, runner, studyId), 200);
    const trialId = leased.body.trial.id as string;
    const longError = await test.http
      .post(`/v1/trials/${trialId}/fail`)
      .set(...auth(runner.token))
      .send({ error: 'e'.repeat(1_000_000) });
    assert.equal(longError.status, 400, 'a runner error text is bounded');
    assertClientError(longError, 'long error');
    const manyMetrics = await test.http
      .post(`/v1/trials/${trialId}/heartbeat`)
      .set(...auth(runner.token))
      .send({ metrics: Array.from({ length: 5000 }, (_, step) => ({ name: 'l', step, value: 1 })) });
    assert.equal(manyMetrics.status, 400);
    assertClientError(manyMetrics, 'many metrics');
    const notJson = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    assert.equal(notJson.status, 400);
    assertClientError(notJson, 'malformed JSON');
    await test.http
      .post(`/v1/trials/${trialId}/release`)
      .set(...auth(runner.token))
      .send({});
  });
});
