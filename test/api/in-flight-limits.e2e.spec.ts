import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource, type QueryRunner } from 'typeorm';
import type { Response } from 'supertest';
import {
  ConfigError,
  DEFAULT_IN_FLIGHT_LIMITS,
  type InFlightLimits,
  loadConfig,
} from '../../api/src/config/app-config';
import { DATABASE_POOL_SIZE } from '../../api/src/database/pool-size';
import { IN_FLIGHT_RETRY_AFTER_SECONDS, InFlightLimits as InFlight } from '../../api/src/rate-limit/in-flight-limits';
import { REFUSAL_DELAY_MS } from '../../api/src/rate-limit/request-budgets';
import {
  auth,
  createProject,
  createStudy,
  expectStatus,
  lease,
  projectKey,
  quadraticStudy,
  registerRunner,
  report,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';
import { sleep, until } from '../support/waiting';

/**
 * Class: one project's slow legal requests in flight (docs/reliability.md, finding 30). The
 * request budgets bound how many requests a project starts a second, not how long they last:
 * requests waiting on a study's row lock (or long exports) each hold a database connection, and a
 * project with 40 of them held the whole pool while every other project waited. Now a key and a
 * project have a bound on requests in flight per process; past it a request waits up to
 * REFUSAL_DELAY_MS for a place, then gets 429 RATE_LIMITED naming the bound, before its handler runs.
 *
 * Slow requests are made real, not simulated: the test holds a study's row FOR UPDATE on its own
 * connection, and `POST /v1/studies/{id}/pause` waits for that lock inside its transaction.
 */
const LIMITS: InFlightLimits = { perKey: 2, perProject: 3 };

function assertInFlightRefusal(response: Response, budget: string, limit: number, setting: string): void {
  assert.equal(response.status, 429, JSON.stringify(response.body));
  assert.equal(response.body.code, 'RATE_LIMITED');
  assert.deepEqual(response.body.details, { budget, limit, retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS });
  assert.equal(response.headers['retry-after'], String(IN_FLIGHT_RETRY_AFTER_SECONDS));
  assert.match(response.body.message, new RegExp(`at most ${limit} at once \\(${setting}\\)`));
}

describe('requests in flight per key and per project', () => {
  let test: TestServer;
  let inFlight: InFlight;
  let projectA: string;
  let projectB: string;
  let userA1: string;
  let userA2: string;
  const keyIds = new Map<string, string>();
  const keyIdOf = (key: string): string => keyIds.get(key)!;
  async function userKeyOf(projectId: string): Promise<string> {
    const created = expectStatus(
      await test.http
        .post('/v1/api-keys')
        .set(...auth(test.adminKey))
        .send({ name: 'user', scope: 'user', projectId }),
      201,
    ).body;
    keyIds.set(created.key as string, created.id as string);
    return created.key as string;
  }
  let userB: string;
  let studyA: string;
  let studyB: string;

  /** Holds study A's row FOR UPDATE on a connection of its own until the returned function is called. */
  async function lockStudyA(): Promise<() => Promise<void>> {
    const runner: QueryRunner = test.get(DataSource).createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query('SELECT id FROM studies WHERE id = $1 FOR UPDATE', [studyA]);
    return async () => {
      await runner.rollbackTransaction();
      await runner.release();
    };
  }

  const pause = (key: string): Promise<Response> =>
    test.http
      .post(`/v1/studies/${studyA}/pause`)
      .set(...auth(key))
      .then((response) => response);

  before(async () => {
    test = await startTestServer({ inFlightLimits: LIMITS, leaseWaitMs: 3000 });
    inFlight = test.get(InFlight);
    projectA = await createProject(test, { name: 'slow' });
    projectB = await createProject(test, { name: 'bystander' });
    userA1 = await userKeyOf(projectA);
    userA2 = await userKeyOf(projectA);
    userB = await projectKey(test, 'user', projectB);
    studyA = String((await createStudy(test, userA1, { ...quadraticStudy(), projectId: projectA })).id);
    studyB = String((await createStudy(test, userB, { ...quadraticStudy(), projectId: projectB })).id);
  });
  after(async () => test.close());

  it('past its bound a key, then its project, gets 429 after a short wait; another project does not; places come back', async () => {
    const unlock = await lockStudyA();
    // Two requests of key 1 and one of key 2, all waiting for the lock inside their handlers.
    const held = [pause(userA1), pause(userA1), pause(userA2)];
    await until(() => inFlight.inFlight({ projectId: projectA }) === 3, 'three requests of A in flight');
    assert.equal(inFlight.inFlight({ keyId: keyIdOf(userA1) }), 2);

    // Key 1 is at its bound (2): refused for its key, after waiting REFUSAL_DELAY_MS for a place.
    const started = performance.now();
    const keyRefused = await test.http.get('/v1/studies').set(...auth(userA1));
    assert.ok(performance.now() - started >= REFUSAL_DELAY_MS - 50, 'the refusal waited for a place first');
    assertInFlightRefusal(keyRefused, 'key-in-flight', LIMITS.perKey, 'MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT');
    // Key 2 has room (1 of 2) but the project is at its bound (3).
    const projectRefused = await test.http.get('/v1/studies').set(...auth(userA2));
    assertInFlightRefusal(
      projectRefused,
      'project-in-flight',
      LIMITS.perProject,
      'MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT',
    );
    // Refused before the handler: a refused write writes nothing (counted below, once A has room).
    const refusedWrite = await test.http
      .post('/v1/studies')
      .set(...auth(userA2))
      .send({ ...quadraticStudy(), projectId: projectA });
    assert.equal(refusedWrite.status, 429);

    // Project B is not charged for A's requests: its reads and its runner's round go through.
    expectStatus(await test.http.get(`/v1/studies/${studyB}`).set(...auth(userB)), 200);
    const runnerB = await registerRunner(test, await projectKey(test, 'runner', projectB));
    const leased = expectStatus(await lease(test, runnerB, studyB), 200).body;
    expectStatus(await report(test, runnerB, String(leased.trial.id), 'complete', { outputs: { loss: 1 } }), 200);

    // A request that finds no place waits for one: freed within REFUSAL_DELAY_MS, it is served.
    const waiting = test.http.get('/v1/studies').set(...auth(userA2));
    await sleep(200);
    await unlock();
    expectStatus(await waiting, 200);
    for (const answer of await Promise.all(held)) {
      assert.ok([200, 409].includes(answer.status), `${answer.status} ${JSON.stringify(answer.body)}`);
    }
    await until(() => inFlight.inFlight({ projectId: projectA }) === 0, 'A with nothing in flight');
    assert.equal(inFlight.inFlight({ keyId: keyIdOf(userA1) }), 0);
    assert.equal(expectStatus(await test.http.get('/v1/studies').set(...auth(userA1)), 200).body.total, 1);

    const metrics = (await test.http.get('/metrics')).text;
    assert.match(metrics, new RegExp(`meshtune_rate_limit\\{budget="project-in-flight"\\} ${LIMITS.perProject}\\b`));
    assert.match(metrics, new RegExp(`meshtune_rate_limit\\{budget="key-in-flight"\\} ${LIMITS.perKey}\\b`));
    assert.match(metrics, /meshtune_rate_limited_total\{budget="project-in-flight"\} [1-9]/);
  });

  it('a request whose client hangs up keeps its place until its handler ends; errors and exports give theirs back', async () => {
    const unlock = await lockStudyA();
    const aborted = new AbortController();
    const hungUp = fetch(`${test.url}/v1/studies/${studyA}/pause`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userA1}` },
      signal: aborted.signal,
    }).catch((error: unknown) => error);
    await until(() => inFlight.inFlight({ keyId: keyIdOf(userA1) }) === 1, 'the pause in flight');
    aborted.abort();
    assert.ok((await hungUp) instanceof Error);
    // The handler still waits for the lock, holding a database connection: so does its place.
    await sleep(300);
    assert.equal(inFlight.inFlight({ keyId: keyIdOf(userA1) }), 1);
    await unlock();
    await until(() => inFlight.inFlight({ projectId: projectA }) === 0, 'the hung-up request to end');

    // Refusals of every kind, many more than the bound, concurrently and in turn: none leaks a place.
    const bad = (): Promise<Response>[] => [
      test.http.get('/v1/studies/00000000-0000-4000-8000-000000000000').set(...auth(userA1)), // 404
      test.http
        .post('/v1/studies')
        .set(...auth(userA1))
        .send({ name: 1 }), // 400
      test.http.get('/v1/api-keys').set(...auth(userA2)), // 403: needs admin
      test.http.get(`/v1/studies/${studyA}/history?limit=0`).set(...auth(userA2)), // 400
    ];
    for (let round = 0; round < 3 * LIMITS.perProject; round++) {
      for (const answer of await Promise.all(bad())) {
        assert.ok([400, 403, 404].includes(answer.status), `${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
    for (const format of ['csv', 'nomad']) {
      const exported = await test.http.get(`/v1/studies/${studyA}/history?format=${format}`).set(...auth(userA1));
      expectStatus(exported, 200);
    }
    await until(() => inFlight.inFlight({ projectId: projectA }) === 0, 'A with nothing in flight');
    assert.equal(inFlight.inFlight({ keyId: keyIdOf(userA1) }), 0);
    assert.equal(inFlight.inFlight({ keyId: keyIdOf(userA2) }), 0);
  });

  it('leases parked until a result arrives give their place back while parked, and take it again to answer', async () => {
    const runnerKey = await projectKey(test, 'runner', projectA);
    const runners = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((name) => registerRunner(test, runnerKey, name)));
    const study = String(
      (
        await createStudy(test, userA1, {
          ...quadraticStudy({ algorithm: { name: 'mads', seed: 5, fillIdle: false } }),
          projectId: projectA,
        })
      ).id,
    );
    const x0 = expectStatus(await lease(test, runners[0]!, study), 200).body;
    assert.equal(x0.trial.origin, 'x0');
    // Three leases park: MADS waits for X0's result before it suggests anything.
    const parked = runners.slice(1).map((runner) => lease(test, runner, study));
    await sleep(500);
    // Well before the leases' wait (3 s) ends: parked, they hold no place.
    await until(() => inFlight.inFlight({ projectId: projectA }) === 0, 'parked leases to hold no place', 1500);
    // So the project's other requests are served at once, not refused.
    expectStatus(await test.http.get(`/v1/studies/${study}`).set(...auth(userA1)), 200);
    expectStatus(await report(test, runners[0]!, String(x0.trial.id), 'complete', { outputs: { loss: 13 } }), 200);
    for (const answer of await Promise.all(parked)) {
      assert.ok([200, 204].includes(answer.status), `${answer.status} ${JSON.stringify(answer.body)}`);
    }
    assert.ok(
      (await Promise.all(parked)).some((answer) => answer.status === 200),
      'a parked lease got a point',
    );
    await until(() => inFlight.inFlight({ projectId: projectA }) === 0, 'A with nothing in flight');
  });

  it('configuration: defaults from the database pool, 0 turns a bound off, a project bound below a key bound is refused', () => {
    assert.deepEqual(loadConfig({}).inFlightLimits, DEFAULT_IN_FLIGHT_LIMITS);
    assert.deepEqual(DEFAULT_IN_FLIGHT_LIMITS, { perKey: DATABASE_POOL_SIZE / 8, perProject: DATABASE_POOL_SIZE / 4 });
    assert.deepEqual(
      loadConfig({ MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '0', MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '0' }).inFlightLimits,
      { perKey: 0, perProject: 0 },
    );
    assert.throws(
      () => loadConfig({ MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '8', MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '4' }),
      (error: unknown) => error instanceof ConfigError && /MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT/.test(error.message),
    );
    assert.throws(() => loadConfig({ MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '-1' }), /MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT/);
  });
});
