import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { IN_FLIGHT_RETRY_AFTER_SECONDS } from '../../api/src/rate-limit/in-flight-limits';
import { MAX_BODY_BYTES } from '../../api/src/common/http/json-body-parser';
import { auth, createKey, expectStatus, quadraticStudy } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a request body read and parsed before the service knows the caller may send it
 * (docs/reliability.md, finding 34). Fastify reads and parses a body before Nest's guard and
 * interceptors run, so a client without a key (or past its budget, its requests in flight, its
 * scope) had each body of up to 5 MiB buffered and parsed (50–160 ms of event loop for the largest
 * legal shapes) before its 401/403/429: an unauthenticated client could load the API's event loop
 * at will, and hold 5 MiB of memory per connection. Now the body is read after admission.
 *
 * Observed from outside: each request below announces a body of 4 MiB and sends only its first
 * bytes. An answer that comes without the body cannot have read it; before the fix, no answer
 * came until the body did.
 */
const ANNOUNCED = 4 * 1024 * 1024;
const ANSWER_WITHIN_MS = 8_000;

interface RawAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

interface PartialRequest {
  /** Resolves with the answer, or rejects when none came within ANSWER_WITHIN_MS. */
  answer: Promise<RawAnswer>;
  /** Sends the rest of the announced body. */
  finish(rest: string): void;
  destroy(): void;
}

/** Sends a request's head and the first bytes of a body of `announced` bytes, and waits for an answer. */
function partialRequest(
  url: string,
  path: string,
  headers: Record<string, string>,
  bodyStart: string,
  announced = ANNOUNCED,
): PartialRequest {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    `Content-Length: ${announced}`,
    ...Object.entries({ 'Content-Type': 'application/json', ...headers }).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head + bodyStart);
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(
      () => reject(new Error(`no answer to POST ${path} within ${ANSWER_WITHIN_MS} ms while its body was not sent`)),
      ANSWER_WITHIN_MS,
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = text.slice(0, end).split('\r\n');
      const parsedHeaders: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        parsedHeaders[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(parsedHeaders['content-length'] ?? 0);
      const body = received.subarray(Buffer.byteLength(text.slice(0, end + 4)));
      if (body.length < length) return;
      clearTimeout(timer);
      resolve({
        status: Number(lines[0].split(' ')[1]),
        headers: parsedHeaders,
        body: JSON.parse(body.subarray(0, length).toString('utf8')) as Record<string, unknown>,
      });
    });
  });
  return {
    answer,
    finish: (rest: string) => socket.write(rest),
    destroy: () => socket.destroy(),
  };
}

/** A valid study body cut in two, its end padded with JSON whitespace to `announced` bytes. */
function paddedStudy(announced = ANNOUNCED): { start: string; rest: string } {
  const json = JSON.stringify(quadraticStudy({ name: 'admitted' }));
  const cut = Math.floor(json.length / 2);
  return { start: json.slice(0, cut), rest: json.slice(cut) + ' '.repeat(announced - Buffer.byteLength(json)) };
}

/** A chunked body (no Content-Length) of `size` bytes, sent in 64 KiB chunks; the answer's status and code. */
function chunkedPost(url: string, key: string, size: number): Promise<{ status: number; code: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${url}/v1/studies`,
      { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, code: (JSON.parse(text) as { code?: unknown }).code }),
        );
      },
    );
    request.on('error', reject);
    const chunk = 'a'.repeat(64 * 1024);
    request.write('{"name":"');
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
      request.end('"}');
    };
    pump();
  });
}

describe('a body is read only once its request is admitted', () => {
  let test: TestServer;

  before(async () => {
    test = await startTestServer({
      // Budgets of a minute (60 requests a key), and one request of a key in flight.
      rateLimits: { windowSeconds: 60, keyPerSecond: 1, projectPerSecond: 1_000, expensivePerSecond: 0 },
      inFlightLimits: { perKey: 1, perProject: 0 },
    });
  });
  after(() => test.close());

  it('refuses a caller without a valid key, of the wrong scope or past its budget before its body arrives', async () => {
    const userKey = await createKey(test, 'user');
    const spentKey = await createKey(test, 'user');
    for (let index = 0; index < 60; index += 1) {
      expectStatus(await test.http.get('/v1/studies?limit=1').set(...auth(spentKey)), 200);
    }
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['no key', '/v1/studies', {}, 401, 'UNAUTHENTICATED'],
      ['a malformed Authorization header', '/v1/studies', { Authorization: 'Basic abc' }, 401, 'UNAUTHENTICATED'],
      [
        'an unknown key shaped like a generated one',
        '/v1/studies',
        { Authorization: `Bearer mt_user_${'A'.repeat(43)}` },
        401,
        'UNAUTHENTICATED',
      ],
      ['a user key on an admin route', '/v1/projects', { Authorization: `Bearer ${userKey}` }, 403, 'FORBIDDEN'],
      ['a key past its request budget', '/v1/studies', { Authorization: `Bearer ${spentKey}` }, 429, 'RATE_LIMITED'],
    ];
    for (const [what, path, headers, status, code] of cases) {
      const request = partialRequest(test.url, path, headers, '{"name":"');
      try {
        const answer = await request.answer.catch((error: Error) => {
          throw new Error(`${what}: ${error.message}`);
        });
        assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.code, code, what);
        // The rest of the body is not read and dropped: the connection ends with the answer.
        assert.equal(answer.headers.connection, 'close', what);
      } finally {
        request.destroy();
      }
    }
  });

  it("takes a request's place in flight before its body: a second one of the key is refused without its body, the first is served", async () => {
    const key = await createKey(test, 'user');
    const { start, rest } = paddedStudy();
    const first = partialRequest(test.url, '/v1/studies', { Authorization: `Bearer ${key}` }, start);
    // The first holds the key's one place while its body is on the way (it has been admitted).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = partialRequest(test.url, '/v1/studies', { Authorization: `Bearer ${key}` }, '{"name":"');
    try {
      const refused = await second.answer;
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.deepEqual(refused.body.details, {
        budget: 'key-in-flight',
        limit: 1,
        retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS,
      });
      first.finish(rest);
      const served = await first.answer;
      assert.equal(served.status, 201, JSON.stringify(served.body));
      assert.equal(typeof served.body.id, 'string');
    } finally {
      first.destroy();
      second.destroy();
    }
  });

  it('still refuses an announced body over the limit at once, one that runs past it, and other media types, without reading them', async () => {
    const key = await createKey(test, 'user');
    const announcedTooLarge = partialRequest(
      test.url,
      '/v1/studies',
      { Authorization: `Bearer ${key}` },
      '{"name":"',
      MAX_BODY_BYTES + 1,
    );
    try {
      const answer = await announcedTooLarge.answer;
      assert.equal(answer.status, 413, JSON.stringify(answer.body));
      assert.equal(answer.body.code, 'PAYLOAD_TOO_LARGE');
    } finally {
      announcedTooLarge.destroy();
    }
    const chunked = await chunkedPost(test.url, key, MAX_BODY_BYTES + 10);
    assert.equal(chunked.status, 413, JSON.stringify(chunked));
    assert.equal(chunked.code, 'PAYLOAD_TOO_LARGE');
    // A body of another media type, announced at 1 GB: 415 at once, and the connection ends with
    // the answer rather than reading and dropping the gigabyte.
    const otherType = partialRequest(
      test.url,
      '/v1/studies',
      { Authorization: `Bearer ${key}`, 'Content-Type': 'text/plain' },
      'DIMENSION 1',
      1_000_000_000,
    );
    try {
      const answer = await otherType.answer;
      assert.equal(answer.status, 415, JSON.stringify(answer.body));
      assert.equal(answer.headers.connection, 'close');
    } finally {
      otherType.destroy();
    }
    // The connection and the key are still fine after both.
    expectStatus(await test.http.get('/v1/studies?limit=1').set(...auth(key)), 200);
  });
});
