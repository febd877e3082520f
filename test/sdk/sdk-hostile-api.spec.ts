import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  ConnectionTimeoutError,
  createClient,
  InternalServerError,
  MeshtuneError,
  UnreadableReplyError,
  type ClientOptions,
  type MeshtuneClient,
} from '@meshtune/sdk';
import { hostileApi, json, leaseBody, within, type HostileApi } from './hostile-api';

/**
 * The SDK and its `runWorker` against replies it cannot trust (docs/reliability.md, findings 44
 * and 45): a local server answers as a broken proxy or a hostile API would.
 */
const fast: ClientOptions['retry'] = { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 };

function clientOf(api: HostileApi, options: Partial<ClientOptions> = {}): MeshtuneClient {
  return createClient({ baseUrl: api.url, apiKey: 'mt_runner_secret', retry: fast, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/** Writes `chunk` every `everyMs` until the client goes away. */
function trickle(response: ServerResponse, chunk: string, everyMs: number): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write('{"id":"');
  const timer = setInterval(() => response.write(chunk), everyMs);
  response.on('close', () => clearInterval(timer));
}

/** Streams `megabytes` MiB of a JSON string as fast as the client reads; returns the bytes sent. */
function flood(response: ServerResponse, megabytes: number, sent: { bytes: number }, declare = false): void {
  const block = 'x'.repeat(1024 * 1024);
  response.writeHead(200, {
    'content-type': 'application/json',
    ...(declare ? { 'content-length': String(megabytes * block.length + 2) } : {}),
  });
  response.write('"');
  let left = megabytes;
  const next = (): void => {
    while (left > 0 && !response.destroyed) {
      left -= 1;
      sent.bytes += block.length;
      if (!response.write(block)) return void response.once('drain', next);
    }
    if (!response.destroyed) response.end('"');
  };
  next();
}

describe('SDK against a broken or hostile API', () => {
  let api: HostileApi;
  before(async () => {
    api = await hostileApi();
  });
  after(async () => api.close());
  const reset = (): void => api.reset();
  /** Every lease is answered only after 20 s (or never, once the client hangs up). */
  const parkLeases = (): void => {
    api.routes.set('/v1/runners/r1/lease', (_request, response) => {
      const timer = setTimeout(() => json(response, 200, leaseBody()), 20_000);
      response.on('close', () => clearTimeout(timer));
    });
  };

  it('gives up a reply that never ends after timeoutMs, however slowly it trickles', async () => {
    reset();
    api.routes.set('/v1/studies/s1', (_request, response) => trickle(response, 'a', 50));
    const started = Date.now();
    const error = await within(5_000, rejection(clientOf(api, { timeoutMs: 500 }).getStudy('s1')), 'getStudy');
    assert.ok(error instanceof ConnectionTimeoutError, String(error));
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
  });

  it('refuses a reply larger than maxReplyBytes without reading it whole', async () => {
    for (const declare of [false, true]) {
      reset();
      const sent = { bytes: 0 };
      api.routes.set('/v1/studies/s1', (_request, response) => flood(response, 256, sent, declare));
      const client = clientOf(api, { maxReplyBytes: 1024 * 1024 });
      const error = await within(20_000, rejection(client.getStudy('s1')), 'getStudy');
      assert.ok(error instanceof UnreadableReplyError, `declared=${declare}: ${String(error)}`);
      assert.match(error.message, /maxReplyBytes/);
      assert.ok(sent.bytes < 256 * 1024 * 1024, `declared=${declare}: the whole body was sent (${sent.bytes} bytes)`);
    }
  });

  it("answers a reply that is not the API's with a MeshtuneError that says so", async () => {
    const html = '<html><body><h1>502 Bad Gateway</h1>' + 'x'.repeat(100_000) + '</body></html>';
    const replies: Array<[string, (response: ServerResponse) => void, (error: unknown) => boolean]> = [
      [
        'HTML 200',
        (r) => (r.writeHead(200, { 'content-type': 'text/html' }), r.end(html)),
        (e) => e instanceof UnreadableReplyError && /not JSON \(text\/html\)/.test(e.message),
      ],
      [
        'cut JSON 200',
        (r) => (r.writeHead(200, { 'content-type': 'application/json' }), r.end('{"id": "s1", "sta')),
        (e) => e instanceof UnreadableReplyError,
      ],
      [
        'empty 200',
        (r) => (r.writeHead(200, { 'content-type': 'application/json' }), r.end()),
        (e) => e instanceof UnreadableReplyError,
      ],
      [
        'HTML 502',
        (r) => (r.writeHead(502, { 'content-type': 'text/html' }), r.end(html)),
        (e) => e instanceof InternalServerError && /text\/html/.test(e.message) && e.message.length < 1_000,
      ],
      [
        'JSON error with fields of other types',
        (r) => json(r, 503, { code: 'X', message: { a: 1 }, requestId: [1], statusCode: 'no' }),
        (e) => e instanceof InternalServerError && e.requestId === undefined && e.status === 503,
      ],
    ];
    for (const [name, reply, expected] of replies) {
      reset();
      api.routes.set('/v1/studies/s1', (_request, response) => reply(response));
      const error = await rejection(clientOf(api, { retry: { maxRetries: 0 } }).getStudy('s1'));
      assert.ok(error instanceof MeshtuneError && expected(error), `${name}: ${String(error)}`);
    }
  });

  it('stops runWorker with an UnreadableReplyError on lease replies of another shape, never evaluating them', async () => {
    const leases: Array<[string, unknown]> = [
      ['no trial', leaseBody({ trial: undefined })],
      ['trial.id a number', leaseBody({}, { id: 42 })],
      ['parameters a string', leaseBody({}, { parameters: 'x=1' })],
      ['outputs an object', leaseBody({ outputs: { loss: 'objective' } })],
      ['an output without a name', leaseBody({ outputs: [{ type: 'objective' }] })],
      ['leaseSeconds a string', leaseBody({ leaseSeconds: '30' })],
      ['leaseSeconds 1e12', leaseBody({ leaseSeconds: 1e12 })],
      ['leaseSeconds -1', leaseBody({ leaseSeconds: -1 })],
      ['an array', [leaseBody()]],
      ['null', null],
    ];
    for (const [name, body] of leases) {
      reset();
      api.routes.set('/v1/runners/r1/lease', (_request, response) => json(response, 200, body));
      let evaluated = 0;
      const run = clientOf(api).runWorker('s1', () => {
        evaluated += 1;
        return 1;
      });
      const error = await within(10_000, rejection(run), name);
      assert.ok(error instanceof UnreadableReplyError, `${name}: ${String(error)}`);
      assert.equal(evaluated, 0, `${name}: evaluate was called`);
      const leasesAsked = api.seen.filter((seen) => seen.path === '/v1/runners/r1/lease').length;
      assert.ok(leasesAsked <= 12, `${name}: ${leasesAsked} leases asked`);
      assert.ok(
        api.seen.every((seen) => seen.path === '/v1/runners' || seen.path === '/v1/runners/r1/lease'),
        `${name}: ${api.seen.map((seen) => seen.path).join(', ')}`,
      );
    }
  });

  it('goes on with a trial whose heartbeat replies cannot be read, and reports it once', async () => {
    const heartbeats: Array<[string, (response: ServerResponse) => void]> = [
      ['shouldStop "maybe"', (r) => json(r, 200, { shouldStop: 'maybe', reason: 'x' })],
      ['no fields', (r) => json(r, 200, {})],
      ['HTML 200', (r) => (r.writeHead(200, { 'content-type': 'text/html' }), r.end('<html>portal</html>'))],
      ['HTML 502', (r) => (r.writeHead(502, { 'content-type': 'text/html' }), r.end('<html>bad gateway</html>'))],
    ];
    for (const [name, reply] of heartbeats) {
      reset();
      api.routes.set('/v1/trials/t1/heartbeat', (_request, response) => reply(response));
      let aborted = false;
      const summary = await within(
        10_000,
        clientOf(api).runWorker('s1', async (_parameters, context) => {
          await context.report(0.5, [{ name: 'loss', step: 1, value: 2 }]);
          await context.report(1);
          aborted = context.signal.aborted;
          return 0.5;
        }),
        name,
      );
      assert.equal(aborted, false, `${name}: the evaluation was told to stop`);
      assert.deepEqual([summary.completed, summary.failed, summary.released], [1, 0, 0], name);
      const reports = api.seen.filter((seen) => /\/(complete|fail|release)$/.test(seen.path));
      assert.deepEqual(
        reports.map((seen) => [seen.path, JSON.parse(seen.body) as unknown]),
        [['/v1/trials/t1/complete', { outputs: { loss: 0.5 } }]],
        name,
      );
    }
  });

  it('gives back a lease whose reply it could not read when the API says it holds it', async () => {
    reset();
    let asked = 0;
    api.routes.set('/v1/runners/r1/lease', (_request, response) => {
      asked += 1;
      // 1: granted, but the reply is a proxy's page; 2: the API holds t1 for this runner; 3: t1 again.
      if (asked === 1) return void (response.writeHead(200, { 'content-type': 'text/html' }), response.end('<html>'));
      if (asked === 2) {
        const body = {
          statusCode: 409,
          code: 'RUNNER_LEASE_LIMIT',
          message: 'runner r1 holds 1 leases',
          details: { limit: 1, held: 1, trialIds: ['t1', '../../x'] },
        };
        return json(response, 409, body, { 'retry-after': '1' });
      }
      if (asked === 3) return json(response, 200, leaseBody());
      response.writeHead(204, { 'meshtune-study-status': 'completed' });
      response.end();
    });
    const summary = await within(
      10_000,
      clientOf(api).runWorker('s1', () => 0.5),
      'an unread lease',
    );
    assert.equal(summary.completed, 1);
    assert.deepEqual(
      api.seen.filter((seen) => seen.path.startsWith('/v1/trials/')).map((seen) => seen.path),
      ['/v1/trials/t1/release', '/v1/trials/t1/complete'],
    );
  });

  it('follows history pages only while they lead somewhere', async () => {
    const pages: Array<[string, (cursor: string | null) => unknown]> = [
      ['the same cursor again', () => ({ items: [{ id: 't1' }], nextCursor: 'c1' })],
      ['cursors after empty pages', (cursor) => ({ items: [], nextCursor: `${cursor ?? ''}x` })],
      ['items not an array', () => ({ items: { id: 't1' }, nextCursor: null })],
      ['a cursor of another type', () => ({ items: [{ id: 't1' }], nextCursor: 7 })],
    ];
    for (const [name, page] of pages) {
      reset();
      api.routes.set('/v1/studies/s1/history', (request, response) =>
        json(response, 200, page(new URL(request.url ?? '/', 'http://x').searchParams.get('cursor'))),
      );
      const error = await within(5_000, rejection(clientOf(api).exportHistory('s1')), name);
      assert.ok(error instanceof UnreadableReplyError, `${name}: ${String(error)}`);
      assert.ok(api.seen.length <= 3, `${name}: ${api.seen.length} pages asked`);
    }
  });

  it('follows no redirect: the key never leaves for the address a Location names', async () => {
    const elsewhere = await hostileApi();
    try {
      for (const status of [301, 302, 303, 307, 308]) {
        for (const target of [`${elsewhere.url}/v1/runners`, '/v1/elsewhere']) {
          reset();
          elsewhere.seen.length = 0;
          api.routes.set('/v1/elsewhere', (_request, response) => json(response, 200, { id: 'r2', token: 't2' }));
          api.routes.set('POST /v1/runners', (_request, response) => {
            response.writeHead(status, { location: target });
            response.end();
          });
          const error = await rejection(clientOf(api).registerRunner({ name: 'w', gpus: 0 }));
          assert.ok(error instanceof UnreadableReplyError, `${status} → ${target}: ${String(error)}`);
          assert.match(error.message, /redirect/);
          assert.deepEqual(elsewhere.seen, [], `${status} → ${target}: the other origin was asked`);
          assert.deepEqual(
            api.seen.map((seen) => seen.path),
            ['/v1/runners'],
            `${status} → ${target}: the redirect was followed`,
          );
        }
      }
      // A report redirected (303 turns a POST into a GET): never taken for the report's success.
      reset();
      api.routes.set('/v1/runners/r1/lease', (_request, response) =>
        json(response, 200, leaseBody({ leaseSeconds: 1 })),
      );
      api.routes.set('/v1/trials/t1/complete', (_request, response) => {
        response.writeHead(303, { location: `${elsewhere.url}/v1/trials/t1` });
        response.end();
      });
      const error = await within(10_000, rejection(clientOf(api).runWorker('s1', () => 0.5)), 'redirected report');
      assert.ok(error instanceof UnreadableReplyError, String(error));
      assert.deepEqual(elsewhere.seen, []);
    } finally {
      await elsewhere.close();
    }
  });

  it('never lets an id change the path it is put in', async () => {
    const hostile = [
      '..',
      '.',
      '../../studies/x',
      'a?b',
      '%2e%2e',
      '',
      'a/b',
      'x'.repeat(5000),
      't1\n',
      'a#b',
      '\u0000',
    ];
    // From a lease: the worker asks nothing with the id (no heartbeat, report, or release).
    for (const id of hostile) {
      reset();
      api.routes.set('/v1/runners/r1/lease', (_request, response) => json(response, 200, leaseBody({}, { id })));
      const error = await within(10_000, rejection(clientOf(api).runWorker('s1', () => 0.5)), JSON.stringify(id));
      assert.ok(error instanceof UnreadableReplyError, `${JSON.stringify(id)}: ${String(error)}`);
      assert.ok(
        api.seen.every((seen) => seen.path === '/v1/runners' || seen.path === '/v1/runners/r1/lease'),
        `${JSON.stringify(id.slice(0, 20))}: ${api.seen.map((seen) => seen.path).join(', ')}`,
      );
    }
    // From a registration: nothing is asked as that runner.
    for (const id of hostile) {
      reset();
      api.routes.set('/v1/runners', (_request, response) => json(response, 201, { id, name: 'w', token: 'x' }));
      const error = await within(10_000, rejection(clientOf(api).runWorker('s1', () => 0.5)), JSON.stringify(id));
      assert.ok(error instanceof UnreadableReplyError, `${JSON.stringify(id.slice(0, 20))}: ${String(error)}`);
      assert.deepEqual(
        api.seen.map((seen) => seen.path),
        ['/v1/runners'],
      );
    }
    // Given by the caller: encoded as one segment, or refused before any request.
    for (const id of hostile) {
      reset();
      const result = await clientOf(api, { retry: { maxRetries: 0 } })
        .getTrial(id)
        .catch((error: unknown) => error);
      if (id === '' || id === '.' || id === '..') {
        assert.ok(result instanceof MeshtuneError && /trialId/.test(result.message), `${id}: ${String(result)}`);
        assert.deepEqual(api.seen, [], `${JSON.stringify(id)} was sent`);
      } else {
        assert.deepEqual(
          api.seen.map((seen) => seen.path),
          [`/v1/trials/${encodeURIComponent(id)}`],
          JSON.stringify(id.slice(0, 20)),
        );
      }
    }
  });

  it('bounds every wait a reply asks for, and stops promptly when aborted', async () => {
    for (const retryAfter of ['1000000000', '-5', '0', 'Fri, 31 Dec 9999 23:59:59 GMT', 'soon', '1e400']) {
      reset();
      api.routes.set('/v1/runners/r1/lease', (_request, response) => {
        response.writeHead(204, { 'retry-after': retryAfter, 'meshtune-study-status': 'active' });
        response.end();
      });
      const stop = new AbortController();
      const run = clientOf(api).runWorker('s1', () => 0.5, { signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const stoppedAt = Date.now();
      stop.abort();
      const summary = await within(5_000, run, `Retry-After ${retryAfter}`);
      assert.ok(Date.now() - stoppedAt < 1_000, `Retry-After ${retryAfter}: ${Date.now() - stoppedAt} ms after abort`);
      assert.equal(summary.reason, 'aborted');
      const leasesAsked = api.seen.filter((seen) => seen.path === '/v1/runners/r1/lease').length;
      // At least 1 s between leases whatever the header says (the API's own shortest is 1 s).
      assert.ok(leasesAsked >= 1 && leasesAsked <= 3, `Retry-After ${retryAfter}: ${leasesAsked} leases in 1.5 s`);
    }
  });

  it('waits out a 429 storm within bounds and stops on abort, even before it registered', async () => {
    for (const retryAfter of ['1000000000', '0', '-1']) {
      reset();
      api.routes.set('/v1/runners', (_request, response) =>
        json(
          response,
          429,
          { statusCode: 429, code: 'RATE_LIMITED', message: 'slow down' },
          { 'retry-after': retryAfter },
        ),
      );
      const stop = new AbortController();
      const run = clientOf(api).runWorker('s1', () => 0.5, { signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const stoppedAt = Date.now();
      stop.abort();
      const error = await within(5_000, rejection(run), `429 Retry-After ${retryAfter}`);
      assert.ok(Date.now() - stoppedAt < 1_000, `${Date.now() - stoppedAt} ms after abort`);
      assert.equal((error as Error).name, 'AbortError', String(error));
      // The client's retries (2 attempts a call) once or twice a second, not a spin.
      assert.ok(api.seen.length <= 8, `Retry-After ${retryAfter}: ${api.seen.length} registrations in 1.5 s`);
    }
  });

  it('stops promptly on abort while a lease waits for its answer', async () => {
    reset();
    parkLeases();
    const stop = new AbortController();
    const run = clientOf(api).runWorker('s1', () => 0.5, { signal: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = Date.now();
    stop.abort();
    const summary = await within(5_000, run, 'a parked lease');
    assert.ok(Date.now() - stoppedAt < 1_000, `${Date.now() - stoppedAt} ms after abort`);
    assert.equal(summary.reason, 'aborted');
  });

  it('stops promptly on abort, and times out, after a garbage collection while a request waits (finding 51)', async () => {
    // Node's fetch follows a request's signal through a weak reference: after a collection the
    // caller's abort (or the attempt's timeout) did not reach the request. `gc` from a fresh context
    // once the flag is set: the test runs without --expose-gc.
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const collect = async (): Promise<void> => {
      for (let round = 0; round < 3; round += 1) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    reset();
    parkLeases();
    const stop = new AbortController();
    const run = clientOf(api).runWorker('s1', () => 0.5, { signal: stop.signal });
    while (!api.seen.some((seen) => seen.path === '/v1/runners/r1/lease')) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await collect();
    const stoppedAt = Date.now();
    stop.abort();
    const summary = await within(5_000, run, 'a parked lease, aborted after a collection');
    assert.ok(Date.now() - stoppedAt < 1_000, `${Date.now() - stoppedAt} ms after abort`);
    assert.equal(summary.reason, 'aborted');

    // The attempt's own timeout likewise: a lease that never answers ends at timeoutMs.
    reset();
    api.routes.set('/v1/runners/r1/lease', () => undefined);
    const client = clientOf(api, { timeoutMs: 1_000, retry: { maxRetries: 0 } });
    const started = Date.now();
    const leasing = rejection(client.lease('r1'));
    while (!api.seen.some((seen) => seen.path === '/v1/runners/r1/lease')) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await collect();
    const error = await within(5_000, leasing, 'a lease without an answer, after a collection');
    assert.ok(error instanceof ConnectionTimeoutError, String(error));
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
  });

  it('stops waitForStudy promptly on abort while a poll trickles in', async () => {
    reset();
    api.routes.set('/v1/studies/s1', (_request, response) => trickle(response, 'a', 50));
    const stop = new AbortController();
    const waiting = rejection(clientOf(api).waitForStudy('s1', { signal: stop.signal }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = Date.now();
    stop.abort();
    const error = await within(5_000, waiting, 'waitForStudy');
    assert.ok(Date.now() - stoppedAt < 1_000, `${Date.now() - stoppedAt} ms after abort`);
    assert.equal((error as Error).name, 'AbortError', String(error));
  });
});
