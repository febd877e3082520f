import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ERROR_STATUS } from '../../api/src/common/errors/error-codes';
import { auth, createKey, expectStatus } from '../support/api-client';
import { rawExchange } from '../support/raw-http';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: requests Node's HTTP parser or its timers refuse before Fastify routes them
 * (docs/reliability.md, finding 36; finding 19 was the router's): headers past Node's 16 KiB, a
 * method or request line it cannot parse, a request that did not arrive within the request
 * timeout (finding 29). Fastify's default `clientErrorHandler` answered them in its own words,
 * `{"error":"Request Timeout","message":"Client Timeout","statusCode":408}`, with a status (408,
 * 431) and no `code` of the API's documented errors, and no request id. Now each gets the API's
 * error body (documented codes `REQUEST_TIMEOUT`, `HEADERS_TOO_LARGE`, `VALIDATION_FAILED`) and a
 * request id, in body and header, and the connection is closed as before.
 */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** Writes `head`, then a space every 100 ms when `drip`, and reads one answer (the API's error body) until the connection closes. */
async function raw(url: string, head: string, drip = false): Promise<RawAnswer> {
  const answer = await rawExchange(url, head, drip);
  try {
    return { status: answer.status, headers: answer.headers, body: JSON.parse(answer.text) as Record<string, unknown> };
  } catch {
    throw new Error(`not the API's error body: ${JSON.stringify(answer.text.slice(0, 300))}`);
  }
}

/**
 * Writes `head` alone and reads what the API says first (up to the end of one head, or a whole
 * small answer); `rest` sends the body and reads the next answer.
 */
function firstAnswer(
  url: string,
  head: string,
): Promise<{ text: string; socket: Socket; rest: (body: string) => Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  let waiting: (() => void) | null = null;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('utf8');
    waiting?.();
  });
  socket.on('close', () => waiting?.());
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const limit = setTimeout(() => reject(new Error(`no answer to ${head.slice(0, 40)}`)), 8_000);
      waiting = () => {
        if (!received.includes('\r\n\r\n') && !socket.destroyed) return;
        // A head with a body: wait for all of it (the answers here are small and sent at once).
        setTimeout(() => {
          clearTimeout(limit);
          waiting = null;
          const text = received;
          received = '';
          resolve(text);
        }, 100);
        waiting = null;
      };
    });
  const first = next();
  socket.write(head);
  return first.then((text) => ({
    text,
    socket,
    rest: (body: string) => {
      const answer = next();
      socket.write(body);
      return answer.finally(() => socket.destroy());
    },
  }));
}

function assertApiError(answer: RawAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.equal(answer.body.statusCode, status);
  assert.equal(answer.body.code, code, JSON.stringify(answer.body));
  assert.ok(code in ERROR_STATUS, `${code} is one of the API's codes`);
  assert.equal(typeof answer.body.message, 'string');
  assert.equal(typeof answer.body.requestId, 'string');
  assert.equal(answer.headers['x-request-id'], answer.body.requestId);
  assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
}

describe('requests refused by the HTTP parser or the request timeout', () => {
  let test: TestServer;
  let key: string;

  before(async () => {
    test = await startTestServer({ requestTimeoutSeconds: 1 });
    key = await createKey(test, 'user');
  });
  after(() => test.close());

  it("answers headers past the parser's limit with 431 HEADERS_TOO_LARGE", async () => {
    for (const head of [
      `GET /v1/studies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(60_000)}\r\n\r\n`,
      `GET /v1/studies?${'a=1&'.repeat(5_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2_000 }, (_, index) => `X-${index}: ${index}\r\n`).join('')}\r\n`,
    ]) {
      assertApiError(await raw(test.url, head), 431, 'HEADERS_TOO_LARGE');
    }
  });

  it('answers a request line or head the parser cannot read with 400 VALIDATION_FAILED naming the request', async () => {
    for (const head of [
      'FOO /v1/studies HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /v1/studies HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /v1/studies HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET /v1/studies HTTP/1.1\r\nHo st: x\r\n\r\n',
    ]) {
      const answer = await raw(test.url, head);
      assertApiError(answer, 400, 'VALIDATION_FAILED');
      assert.deepEqual(
        (answer.body.details as { field: string }[]).map((detail) => detail.field),
        ['request'],
      );
    }
  });

  // Finding 60: Node answers an expectation it does not meet itself, before Fastify: 417 with an
  // empty body, no code and no request id, on every route, with a key or without.
  it('answers an Expect other than 100-continue with 400 VALIDATION_FAILED naming Expect, writing nothing', async () => {
    const projects = async () =>
      expectStatus(await test.http.get('/v1/projects').set(...auth(test.adminKey)), 200).body.total as number;
    const before = await projects();
    const body = '{"name":"expected"}';
    for (const [expect, request] of [
      ['200-ok', 'POST /v1/projects'],
      ['x', 'POST /v1/projects'],
      ['100-continues', 'POST /v1/projects'],
      ['102-processing', 'GET /health'],
      ['200-ok', 'GET /v1/studies'],
    ]) {
      const answer = await raw(
        test.url,
        `${request} HTTP/1.1\r\nHost: x\r\nExpect: ${expect}\r\nAuthorization: Bearer ${test.adminKey}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      assertApiError(answer, 400, 'VALIDATION_FAILED');
      assert.deepEqual(
        (answer.body.details as { field: string }[]).map((detail) => detail.field),
        ['Expect'],
        expect,
      );
    }
    assert.equal(await projects(), before);
    // 100-continue is met, as before.
    const answer = await rawExchange(
      test.url,
      `POST /v1/projects HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nAuthorization: Bearer ${test.adminKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(answer.status, 100, JSON.stringify(answer));
    assert.match(answer.text, /^HTTP\/1\.1 201 /);
    assert.equal(await projects(), before + 1);
  });

  // Finding 67: Node said "100 Continue" as soon as the head arrived, so a client without a key, with
  // a key of the wrong scope or an unknown key was told to send its body before the key was checked.
  it('says 100 Continue only to a request the API admits, and answers the others without their body', async () => {
    const projects = async () =>
      expectStatus(await test.http.get('/v1/projects').set(...auth(test.adminKey)), 200).body.total as number;
    const before = await projects();
    const body = '{"name":"continued"}';
    const head = (authorization: string) =>
      `POST /v1/projects HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n${authorization}` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    for (const [authorization, status] of [
      ['', 401],
      [`Authorization: Bearer ${key}\r\n`, 403],
      [`Authorization: Bearer mt_${'0'.repeat(40)}\r\n`, 401],
      ['Authorization: Basic YTpi\r\n', 401],
    ] as const) {
      const first = await firstAnswer(test.url, head(authorization));
      assert.match(first.text, new RegExp(`^HTTP/1\\.1 ${status} `), `${authorization}: ${first.text.slice(0, 60)}`);
      assert.match(first.text, /\r\nconnection: close\r\n/i);
      first.socket.destroy();
    }
    assert.equal(await projects(), before);
    // An admitted request is told to continue, and its body is read once sent.
    const admitted = await firstAnswer(test.url, head(`Authorization: Bearer ${test.adminKey}\r\n`));
    assert.match(admitted.text, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    const created = await admitted.rest(body);
    assert.match(created, /^HTTP\/1\.1 201 /);
    assert.equal(await projects(), before + 1);
  });

  it('answers a request that did not arrive within the timeout with 408 REQUEST_TIMEOUT', async () => {
    const answer = await raw(
      test.url,
      `POST /v1/studies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nAuthorization: Bearer ${key}\r\n\r\n{`,
      true,
    );
    assertApiError(answer, 408, 'REQUEST_TIMEOUT');
    assert.match(String(answer.body.message), /MESHTUNE_REQUEST_TIMEOUT_SECONDS/);
  });
});
