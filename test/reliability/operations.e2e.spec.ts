import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';
import { call, newAdminKey, sleep, spawnApi } from './cluster';

/** Sends the head and half the body now; `finish()` sends the rest and resolves with the answer. */
function slowPost(
  url: string,
  path: string,
  key: string,
  body: unknown,
): { finish(): Promise<{ status: number; body: string }> } {
  const payload = Buffer.from(JSON.stringify(body));
  const half = Math.floor(payload.length / 2);
  let resolveAnswer: (answer: { status: number; body: string }) => void = () => undefined;
  let rejectAnswer: (error: Error) => void = () => undefined;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    resolveAnswer = resolve;
    rejectAnswer = reject;
  });
  const req = httpRequest(
    `${url}${path}`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': payload.length },
    },
    (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolveAnswer({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    },
  );
  req.on('error', rejectAnswer);
  req.write(payload.subarray(0, half));
  return {
    finish: () => {
      req.end(payload.subarray(half));
      return answer;
    },
  };
}

describe('graceful shutdown of `node dist/api/src/main.js` with its embedded PostgreSQL', { timeout: 180_000 }, () => {
  it('SIGTERM drains a request in flight, exits 0, and stops PostgreSQL cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-shutdown-'));
    const adminKey = newAdminKey();
    try {
      const api = await spawnApi({ adminKey, dataDir, env: { MESHTUNE_LOG_LEVEL: 'info' } });
      const liveness = await call(api.url, 'GET', '/health', null);
      assert.equal(liveness.status, 200);
      assert.deepEqual(liveness.body, { status: 'ok' });
      const readiness = await call(api.url, 'GET', '/health/ready', null);
      assert.equal(readiness.status, 200);
      assert.deepEqual(readiness.body, { status: 'ok', database: 'ok' });
      assert.ok(existsSync(join(dataDir, 'postgres', 'postmaster.pid')));

      const inFlight = slowPost(api.url, '/v1/api-keys', adminKey, { name: 'made while draining', scope: 'user' });
      await sleep(300);
      api.child.kill('SIGTERM');
      await sleep(500);
      assert.equal(api.child.exitCode, null, 'still running while a request is in flight');
      const answer = await inFlight.finish();
      assert.equal(answer.status, 201, `${answer.body}\n${api.output().slice(-3000)}`);
      const drainedKey = (JSON.parse(answer.body) as { key: string }).key;
      const exit = await api.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, api.output().slice(-2000));
      assert.match(api.output(), /SIGTERM, draining requests and stopping/);
      // PostgreSQL removes its pid file only on a clean shutdown.
      assert.equal(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), false, 'postgres stopped cleanly');

      // The request answered during the drain was committed.
      const again = await spawnApi({ adminKey, dataDir });
      try {
        const studies = await call(again.url, 'GET', '/v1/studies', drainedKey);
        assert.equal(studies.status, 200);
        assert.doesNotMatch(again.output(), /not properly shut down|automatic recovery/);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('closing the in-process app (RunningServer.close, what SIGTERM runs)', () => {
  // docs/reliability.md, finding 70: a connection that never sent a byte held the close for
  // headersTimeout (60 s) plus up to 15 s; a request in progress must still be answered.
  it('does not wait for a connection that sent nothing, and still answers a request in progress', async () => {
    const test = await startTestServer();
    let closed = false;
    try {
      const unused = connect(Number(new URL(test.url).port), '127.0.0.1');
      unused.on('error', () => undefined);
      await once(unused, 'connect');
      const unusedClosed = once(unused, 'close');
      const inFlight = slowPost(test.url, '/v1/api-keys', test.adminKey, { name: 'made while closing', scope: 'user' });
      await sleep(300);
      const started = performance.now();
      const closing = test.close().then(() => {
        closed = true;
      });
      await sleep(300);
      assert.equal(closed, false, 'the request in progress holds the close');
      const answer = await inFlight.finish();
      assert.equal(answer.status, 201, answer.body);
      // Without the fix the close never ends while the client keeps the connection (Node stops
      // checking headersTimeout once the server closes): after 20 s the client lets it go.
      let timer: NodeJS.Timeout | undefined;
      const held = await Promise.race([
        closing.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 20_000))),
      ]);
      clearTimeout(timer);
      if (held) unused.destroy();
      await closing;
      const seconds = (performance.now() - started) / 1000;
      assert.equal(held, false, `a connection that sent nothing held the close (${seconds.toFixed(1)} s)`);
      await unusedClosed;
    } finally {
      if (!closed) await test.close();
    }
  });
});

describe('readiness and metrics (in process)', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer();
  });
  after(async () => test.close());

  it('GET /health/ready is 503 with the error body once the database is gone', async () => {
    const other = await startTestServer();
    try {
      const dataSource = other.get(DataSource);
      await dataSource.destroy();
      const response = await other.http.get('/health/ready');
      assert.equal(response.status, 503);
      assert.equal(response.body.code, 'SERVICE_UNAVAILABLE');
      assert.equal(response.body.statusCode, 503);
      const liveness = await other.http.get('/health');
      assert.equal(liveness.status, 200);
    } finally {
      await other.close().catch(() => undefined);
    }
  });

  it('GET /metrics: Prometheus text with the lease, completion, expiry, ask-duration and open-trial series', async () => {
    const userKey = await createKey(test, 'user');
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, leaseSeconds: 60 } }));
    const first = expectStatus(await lease(test, runner, String(study.id)), 200).body.trial;
    expectStatus(
      await test.http
        .post(`/v1/trials/${first.id}/complete`)
        .set(...auth(runner.token))
        .send({ outputs: { loss: 1 } }),
      200,
    );
    expectStatus(await lease(test, runner, String(study.id)), 200);
    assert.equal(await test.get(LeaseSweeper).sweep(new Date(Date.now() + 3_600_000)), 1);

    const response = await test.http.get('/metrics');
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const text = response.text;
    const value = (name: string): number => {
      const line = text.split('\n').find((candidate) => candidate.startsWith(name) && !candidate.startsWith('#'));
      assert.ok(line !== undefined, `${name} is exported`);
      return Number(line.split(' ').at(-1));
    };
    for (const name of [
      'meshtune_leases_total',
      'meshtune_trials_completed_total',
      'meshtune_lease_expiries_total',
      'meshtune_ask_duration_seconds',
      'meshtune_open_trials',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} has a TYPE line`);
    }
    assert.ok(value('meshtune_leases_total') >= 2);
    assert.ok(value('meshtune_trials_completed_total') >= 1);
    assert.ok(value('meshtune_lease_expiries_total') >= 1);
    assert.ok(value('meshtune_ask_duration_seconds_count') >= 1);
    assert.doesNotMatch(text, new RegExp(test.adminKey));
    assert.doesNotMatch(text, new RegExp(runner.token));
  });
});
