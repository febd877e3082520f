import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { loadConfig, ConfigError } from '../../api/src/config/app-config';
import { auth, createKey, expectStatus, quadraticStudy } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a request whose body never ends (docs/reliability.md, finding 29). Fastify's default
 * `requestTimeout` is 0, so a client could announce a body and send it a byte at a time for ever:
 * without a key (the connection, its socket and file descriptor, stayed open), or with one, holding
 * one of its key's and project's places in flight (finding 30) for as long as it liked — a
 * project's runner key could keep its project's every other key refused. Node's header timeout
 * (60 s) applied to headers only. Now every request must have arrived whole within
 * `MESHTUNE_REQUEST_TIMEOUT_SECONDS`; past it the connection is closed (408 when nothing was
 * answered yet) and the place is given back.
 *
 * The server here runs with a timeout of 1 s; each dripping client sends a byte every 100 ms.
 */
const TIMEOUT_SECONDS = 1;
/** The timeout, the server's check interval (a quarter of it) and room for a loaded machine. */
const CUT_WITHIN_MS = 6_000;

interface Dripper {
  socket: Socket;
  /** Resolves with what the server sent and when the connection closed (ms after the start), or null by `CUT_WITHIN_MS`. */
  closed: Promise<{ afterMs: number; received: string } | null>;
  stop(): void;
}

/** Sends a POST's head announcing `announced` body bytes and `bodyStart`, then one more byte every 100 ms. */
function drip(url: string, headers: Record<string, string>, bodyStart: string, announced = 100_000): Dripper {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  const started = Date.now();
  const head = [
    'POST /v1/studies HTTP/1.1',
    `Host: ${hostname}:${port}`,
    'Content-Type: application/json',
    `Content-Length: ${announced}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head + bodyStart);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(' ');
  }, 100);
  const closed = new Promise<{ afterMs: number; received: string } | null>((resolve) => {
    const limit = setTimeout(() => resolve(null), CUT_WITHIN_MS);
    socket.once('close', () => {
      clearTimeout(limit);
      resolve({ afterMs: Date.now() - started, received });
    });
  });
  return {
    socket,
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

describe('a request must arrive whole within the request timeout', () => {
  let test: TestServer;

  before(async () => {
    test = await startTestServer({
      requestTimeoutSeconds: TIMEOUT_SECONDS,
      inFlightLimits: { perKey: 1, perProject: 0 },
    });
  });
  after(() => test.close());

  it('closes the connection of a body that never ends, with or without a key, and gives its place back', async () => {
    const key = await createKey(test, 'user');
    const anonymous = drip(test.url, {}, '{"name":"');
    const keyed = drip(test.url, { Authorization: `Bearer ${key}` }, '{"name":"');
    try {
      const [anonymousEnd, keyedEnd] = await Promise.all([anonymous.closed, keyed.closed]);
      assert.ok(anonymousEnd !== null, `a body without a key still open after ${CUT_WITHIN_MS} ms`);
      assert.match(anonymousEnd.received, /^HTTP\/1.1 401/, 'refused before its body (finding 34)');
      assert.ok(keyedEnd !== null, `a body of a key still open after ${CUT_WITHIN_MS} ms`);
      assert.match(keyedEnd.received, /^HTTP\/1.1 408/, keyedEnd.received.slice(0, 200));
      // The key's one place in flight is free again.
      expectStatus(await test.http.get('/v1/studies?limit=1').set(...auth(key)), 200);
    } finally {
      anonymous.stop();
      keyed.stop();
    }
  });

  it('serves a body sent slowly that arrives within the timeout', async () => {
    const key = await createKey(test, 'user');
    const body = JSON.stringify(quadraticStudy({ name: 'slow but whole' }));
    const { hostname, port } = new URL(test.url);
    const socket = connect(Number(port), hostname);
    try {
      socket.write(
        [
          'POST /v1/studies HTTP/1.1',
          `Host: ${hostname}:${port}`,
          'Content-Type: application/json',
          `Content-Length: ${Buffer.byteLength(body)}`,
          `Authorization: Bearer ${key}`,
          '',
          '',
        ].join('\r\n'),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      const half = Math.floor(body.length / 2);
      socket.write(body.slice(0, half));
      await new Promise((resolve) => setTimeout(resolve, 300));
      socket.write(body.slice(half));
      const deadline = Date.now() + CUT_WITHIN_MS;
      while (!/\r\n\r\n\{.*\}$/s.test(received) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.match(received, /^HTTP\/1.1 201/, received.slice(0, 300));
    } finally {
      socket.destroy();
    }
  });

  it('answers a request whose handler outlasts the timeout: only its arrival is timed', async () => {
    const key = await createKey(test, 'user');
    const studyId = expectStatus(
      await test.http
        .post('/v1/studies')
        .set(...auth(key))
        .send(quadraticStudy()),
      201,
    ).body.id as string;
    // The pause waits for the study's row, held by the test for 2.5 timeouts.
    const runner = test.get(DataSource).createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query('SELECT id FROM studies WHERE id = $1 FOR UPDATE', [studyId]);
    const started = Date.now();
    const pause = test.http
      .post(`/v1/studies/${studyId}/pause`)
      .set(...auth(key))
      .then((response) => response);
    await new Promise((resolve) => setTimeout(resolve, 2_500 * TIMEOUT_SECONDS));
    await runner.rollbackTransaction();
    await runner.release();
    const response = await pause;
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.ok(Date.now() - started >= 2_500 * TIMEOUT_SECONDS);
  });

  it('reads MESHTUNE_REQUEST_TIMEOUT_SECONDS, 60 by default, and refuses what is not a whole number of seconds in range', () => {
    assert.equal(loadConfig({}).requestTimeoutSeconds, 60);
    assert.equal(loadConfig({ MESHTUNE_REQUEST_TIMEOUT_SECONDS: '5' }).requestTimeoutSeconds, 5);
    for (const value of ['0', '-1', '1.5', 'abc', '86401']) {
      assert.throws(
        () => loadConfig({ MESHTUNE_REQUEST_TIMEOUT_SECONDS: value }),
        (error: unknown) => error instanceof ConfigError && /MESHTUNE_REQUEST_TIMEOUT_SECONDS/.test(error.message),
        value,
      );
    }
  });
});
