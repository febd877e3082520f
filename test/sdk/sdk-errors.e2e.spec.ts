import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  ApiError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  createClient,
  ERROR_STATUS,
  hasErrorCode,
  HeadersTooLargeError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  type ClientOptions,
  type MeshtuneClient,
} from '@meshtune/sdk';
import { ERROR_STATUS as API_ERROR_STATUS } from '../../api/src/common/errors/error-codes';
import { createKey, quadraticStudy } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** A fetch that answers the first `times` calls with `status` itself, then lets requests reach the API. */
function failingFetch(status: number, times: number, headers: Record<string, string> = {}) {
  const calls: string[] = [];
  const fetchImpl = async (request: Request): Promise<Response> => {
    calls.push(`${request.method} ${new URL(request.url).pathname}`);
    if (calls.length <= times) {
      const body = {
        statusCode: status,
        code: status === 429 ? 'TOO_MANY_REQUESTS' : 'SERVICE_UNAVAILABLE',
        message: 'try later',
      };
      return new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', ...headers },
      });
    }
    return fetch(request);
  };
  return { calls, fetchImpl };
}

describe('SDK errors and retries against the real API', () => {
  let test: TestServer;
  let userKey: string;
  let user: MeshtuneClient;
  const fastRetries: ClientOptions['retry'] = { initialDelayMs: 1, maxDelayMs: 5 };

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    user = createClient({ baseUrl: test.url, apiKey: userKey, retry: { maxRetries: 0 } });
  });
  after(async () => test.close());

  it('knows every error code the API returns, with the same status', () => {
    for (const [code, status] of Object.entries(API_ERROR_STATUS)) {
      assert.equal((ERROR_STATUS as Record<string, number>)[code], status, code);
    }
  });

  it('throws NotFoundError with the code and request id', async () => {
    const error = await user.getStudy(UNKNOWN_ID).then(
      () => assert.fail('expected an error'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof NotFoundError);
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.code, 'STUDY_NOT_FOUND');
    assert.ok(hasErrorCode(error, 'STUDY_NOT_FOUND'));
    assert.equal(typeof error.requestId, 'string');
  });

  it('throws BadRequestError for an invalid body, with field details in the message', async () => {
    await assert.rejects(user.createStudy({ ...quadraticStudy(), parameters: [] } as never), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.code, 'VALIDATION_FAILED');
      assert.match(error.message, /parameters/);
      return true;
    });
  });

  it('throws AuthenticationError, PermissionDeniedError and ConflictError', async () => {
    await assert.rejects(createClient({ baseUrl: test.url, apiKey: 'mt_wrong' }).listStudies(), AuthenticationError);
    await assert.rejects(user.registerRunner({ name: 'not allowed', gpus: 0 }), (error: unknown) => {
      assert.ok(error instanceof PermissionDeniedError);
      assert.equal(error.code, 'FORBIDDEN');
      return true;
    });
    const study = await user.createStudy(quadraticStudy() as never);
    await user.stopStudy(study.id);
    await assert.rejects(user.resumeStudy(study.id), (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.ok(hasErrorCode(error, 'INVALID_STATUS_TRANSITION'));
      return true;
    });
  });

  it('throws HeadersTooLargeError with the code for a head past what the API reads (finding 36)', async () => {
    await assert.rejects(
      createClient({ baseUrl: test.url, apiKey: `mt_${'a'.repeat(60_000)}` }).listStudies(),
      (error: unknown) => {
        assert.ok(error instanceof HeadersTooLargeError, String(error));
        assert.equal(error.status, 431);
        assert.ok(hasErrorCode(error, 'HEADERS_TOO_LARGE'));
        assert.equal(typeof error.requestId, 'string');
        return true;
      },
    );
  });

  it('retries idempotent calls on 503 and answers with the real result', async () => {
    const { calls, fetchImpl } = failingFetch(503, 2, { 'retry-after': '0' });
    const client = createClient({ baseUrl: test.url, apiKey: userKey, fetch: fetchImpl, retry: fastRetries });
    const page = await client.listStudies();
    assert.ok(Array.isArray(page.items));
    assert.deepEqual(calls, ['GET /v1/studies', 'GET /v1/studies', 'GET /v1/studies']);
  });

  it('waits Retry-After on 429 before retrying', async () => {
    const { calls, fetchImpl } = failingFetch(429, 1, { 'retry-after': '1' });
    const client = createClient({ baseUrl: test.url, apiKey: userKey, fetch: fetchImpl, retry: fastRetries });
    const started = performance.now();
    await client.listStudies();
    assert.ok(performance.now() - started >= 950, 'waited about one second');
    assert.equal(calls.length, 2);
  });

  it('retries leases (POST) on 503, but never non-idempotent POSTs', async () => {
    const runnerKey = await createKey(test, 'runner');
    const runner = await createClient({ baseUrl: test.url, apiKey: runnerKey }).registerRunner({ name: 'r', gpus: 0 });
    const leases = failingFetch(503, 1);
    const leasing = createClient({
      baseUrl: test.url,
      apiKey: runner.token,
      fetch: leases.fetchImpl,
      retry: fastRetries,
    });
    const lease = await leasing.lease(runner.id);
    assert.ok(lease.kind === 'leased' || lease.kind === 'wait');
    assert.equal(leases.calls.length, 2);

    const creates = failingFetch(503, 1);
    const creating = createClient({ baseUrl: test.url, apiKey: userKey, fetch: creates.fetchImpl, retry: fastRetries });
    await assert.rejects(creating.createStudy(quadraticStudy() as never), ServiceUnavailableError);
    assert.equal(creates.calls.length, 1);
  });

  it('retries any call on 429, non-idempotent POSTs too: the API refused it before writing anything', async () => {
    const before = (await user.listStudies()).total;
    const creates = failingFetch(429, 1, { 'retry-after': '0' });
    const creating = createClient({ baseUrl: test.url, apiKey: userKey, fetch: creates.fetchImpl, retry: fastRetries });
    await creating.createStudy(quadraticStudy() as never);
    assert.deepEqual(creates.calls, ['POST /v1/studies', 'POST /v1/studies']);
    assert.equal((await user.listStudies()).total, before + 1);
  });

  it('does not retry a 400', async () => {
    const calls: string[] = [];
    const client = createClient({
      baseUrl: test.url,
      apiKey: userKey,
      retry: fastRetries,
      fetch: (request) => {
        calls.push(request.url);
        return fetch(request);
      },
    });
    await assert.rejects(client.listStudies({ limit: 1_000_000 }), BadRequestError);
    assert.equal(calls.length, 1);
  });

  it('gives up after maxRetries with the last typed error', async () => {
    const { calls, fetchImpl } = failingFetch(429, 100, { 'retry-after': '0' });
    const client = createClient({
      baseUrl: test.url,
      apiKey: userKey,
      fetch: fetchImpl,
      retry: { ...fastRetries, maxRetries: 2 },
    });
    await assert.rejects(client.getStudy(UNKNOWN_ID), RateLimitError);
    assert.equal(calls.length, 3);
  });

  it('retries network errors on idempotent calls', async () => {
    let failures = 1;
    const client = createClient({
      baseUrl: test.url,
      apiKey: userKey,
      retry: fastRetries,
      fetch: (request) => (failures-- > 0 ? Promise.reject(new TypeError('fetch failed')) : fetch(request)),
    });
    assert.ok(Array.isArray((await client.listStudies()).items));
  });

  it('says why a request reached no API (a wrong port: ECONNREFUSED), not only "fetch failed"', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const client = createClient({ baseUrl: `http://127.0.0.1:${closed}`, apiKey: userKey, retry: { maxRetries: 0 } });
    await assert.rejects(client.listStudies(), (error: unknown) => {
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, new RegExp(`GET http://127\\.0\\.0\\.1:${closed}/v1/studies.*ECONNREFUSED`));
      return true;
    });
  });
});
