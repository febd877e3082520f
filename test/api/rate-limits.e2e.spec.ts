import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { ConfigError, loadConfig, type RateLimits } from '../../api/src/config/app-config';
import { REFUSAL_DELAY_MS } from '../../api/src/rate-limit/request-budgets';
import { ENGINE_READ_COST, STUDY_SCAN_COST } from '../../api/src/rate-limit/request-cost';
import {
  auth,
  createProject,
  createStudy,
  expectStatus,
  lease,
  projectKey,
  quadraticStudy,
  registerRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: one key holder's request volume (docs/reliability.md, finding 23). Without budgets, 300
 * runners of one project leasing back to back raised another project's lease p99 from 0.2 s to
 * 1.4 s, and 8 clients reading engine state cut another project's leases from 379 to 51 per 15 s.
 * Now each key, each project (its keys together) and each project's expensive reads have a
 * budget per window; past it a request is a 429 RATE_LIMITED with Retry-After and the limit named,
 * writes nothing, and other projects are not charged.
 *
 * The window is a minute so that no budget refills while a test runs.
 */
const LIMITS: RateLimits = { windowSeconds: 60, keyPerSecond: 2, projectPerSecond: 3, expensivePerSecond: 1 };
const KEY_BUDGET = LIMITS.keyPerSecond * LIMITS.windowSeconds; // 120 requests
const PROJECT_BUDGET = LIMITS.projectPerSecond * LIMITS.windowSeconds; // 180 requests
const EXPENSIVE_BUDGET = LIMITS.expensivePerSecond * LIMITS.windowSeconds; // 60 points

/** Sends `send` until the first non-2xx answer; returns how many succeeded and that answer. */
async function untilRefused(send: () => Promise<Response>, most: number): Promise<{ ok: number; refusal: Response }> {
  for (let ok = 0; ok <= most; ok++) {
    const response = await send();
    if (response.status >= 300) return { ok, refusal: response };
  }
  throw new Error(`no refusal after ${most + 1} requests`);
}

function assertRateLimited(response: Response, budget: string, limit: number): void {
  assert.equal(response.status, 429, JSON.stringify(response.body));
  assert.equal(response.body.code, 'RATE_LIMITED');
  assert.equal(response.body.statusCode, 429);
  assert.deepEqual({ budget: response.body.details.budget, limit: response.body.details.limit }, { budget, limit });
  assert.equal(response.body.details.windowSeconds, LIMITS.windowSeconds);
  const retryAfter = Number(response.headers['retry-after']);
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= LIMITS.windowSeconds,
    `Retry-After ${retryAfter}`,
  );
  assert.equal(response.body.details.retryAfterSeconds, retryAfter);
  // The message names the budget and the setting an operator would raise.
  assert.match(response.body.message, new RegExp(`${limit} .* per ${LIMITS.windowSeconds} s \\(MESHTUNE_RATE_LIMIT_`));
  assert.ok(typeof response.body.requestId === 'string');
}

describe('request rate limits per key and per project', () => {
  let test: TestServer;
  let projectA: string;
  let projectB: string;
  let userB: string;
  let studyB: string;

  before(async () => {
    test = await startTestServer({ rateLimits: LIMITS });
    projectA = await createProject(test, { name: 'flooding' });
    projectB = await createProject(test, { name: 'bystander' });
    userB = await projectKey(test, 'user', projectB);
    studyB = (
      await createStudy(test, userB, { ...quadraticStudy(), projectId: projectB, budget: { maxEvaluations: 1000 } })
    ).id as string;
  });
  after(async () => test.close());

  it("a key past its budget gets 429 naming the key's limit, writes nothing, and another project keeps working", async () => {
    const flooder = await projectKey(test, 'user', projectA);
    const witness = await projectKey(test, 'user', projectA);
    const studiesOfA = async (): Promise<number> =>
      expectStatus(await test.http.get('/v1/studies').set(...auth(witness)), 200).body.total as number;
    const before = await studiesOfA();

    const { ok, refusal } = await untilRefused(() => test.http.get('/v1/studies').set(...auth(flooder)), KEY_BUDGET);
    assert.equal(ok, KEY_BUDGET);
    assertRateLimited(refusal, 'key', KEY_BUDGET);

    // Refused before the handler: a write over budget writes nothing. Its answer is held
    // REFUSAL_DELAY_MS (the window has longer to run), so that a client ignoring Retry-After
    // cannot loop on refusals faster than on real answers.
    const started = performance.now();
    const write = await test.http
      .post('/v1/studies')
      .set(...auth(flooder))
      .send({ ...quadraticStudy(), projectId: projectA });
    assertRateLimited(write, 'key', KEY_BUDGET);
    assert.ok(performance.now() - started >= REFUSAL_DELAY_MS, 'the refusal was held');
    assert.equal(await studiesOfA(), before);

    // Project B's user and runner are not charged for A's flood.
    expectStatus(await test.http.get(`/v1/studies/${studyB}`).set(...auth(userB)), 200);
    const runnerB = await registerRunner(test, await projectKey(test, 'runner', projectB));
    const leased = expectStatus(await lease(test, runnerB, studyB), 200);
    expectStatus(
      await test.http
        .post(`/v1/trials/${leased.body.trial.id}/complete`)
        .set(...auth(runnerB.token))
        .send({ outputs: { loss: 1 } }),
      200,
    );
  });

  it("a project's keys share one budget: past it every key of the project gets 429, other projects do not", async () => {
    const projectC = await createProject(test, { name: 'fleet' });
    const runnerKey = await projectKey(test, 'runner', projectC);
    const user = await projectKey(test, 'user', projectC);
    // Requests so far in C's budget: the runner key's 3 registrations below.
    const runners = [
      await registerRunner(test, runnerKey, 'r1'),
      await registerRunner(test, runnerKey, 'r2'),
      await registerRunner(test, runnerKey, 'r3'),
    ];
    let sent = 3;
    // Three runner tokens, each well within its own key budget, together spend the project's.
    let refusal: Response | null = null;
    for (let i = 0; refusal === null && i <= PROJECT_BUDGET; i++) {
      const runner = runners[i % runners.length]!;
      const response = await test.http
        .post(`/v1/runners/${runner.id}/heartbeat`)
        .set(...auth(runner.token))
        .send({});
      if (response.status === 200) sent++;
      else refusal = response;
    }
    assert.equal(sent, PROJECT_BUDGET);
    assertRateLimited(refusal!, 'project', PROJECT_BUDGET);
    // The project's user key, unused so far, is refused too; project B is not.
    assertRateLimited(await test.http.get('/v1/studies').set(...auth(user)), 'project', PROJECT_BUDGET);
    expectStatus(await test.http.get(`/v1/studies/${studyB}`).set(...auth(userB)), 200);

    const metrics = (await test.http.get('/metrics')).text;
    assert.match(metrics, new RegExp(`meshtune_rate_limit\\{budget="project"\\} ${PROJECT_BUDGET}\\b`));
    assert.match(metrics, new RegExp(`meshtune_rate_limit\\{budget="key"\\} ${KEY_BUDGET}\\b`));
    assert.match(metrics, new RegExp(`meshtune_rate_limit\\{budget="expensive"\\} ${EXPENSIVE_BUDGET}\\b`));
    assert.match(metrics, new RegExp(`meshtune_rate_limit_window_seconds ${LIMITS.windowSeconds}\\b`));
    const refused = Number(/meshtune_rate_limited_total\{budget="project"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(refused >= 2, `meshtune_rate_limited_total{budget="project"} = ${refused}`);
  });

  it('engine reads and exports take cost points from a tighter budget; ordinary reads go on', async () => {
    const projectD = await createProject(test, { name: 'dashboards' });
    const user = await projectKey(test, 'user', projectD);
    const study = (
      await createStudy(test, user, { ...quadraticStudy(), projectId: projectD, algorithm: { name: 'mads', seed: 1 } })
    ).id as string;
    const reads = Math.floor(EXPENSIVE_BUDGET / ENGINE_READ_COST); // 12
    const { ok, refusal } = await untilRefused(
      () => test.http.get(`/v1/studies/${study}/engine`).set(...auth(user)),
      reads,
    );
    assert.equal(ok, reads);
    assertRateLimited(refusal, 'expensive', EXPENSIVE_BUDGET);
    // An export costs more than the engine read that was refused: refused too.
    assertRateLimited(
      await test.http.get(`/v1/studies/${study}/history?format=csv`).set(...auth(user)),
      'expensive',
      EXPENSIVE_BUDGET,
    );
    assert.ok(STUDY_SCAN_COST > ENGINE_READ_COST);
    // The same key's ordinary reads (a JSON history page, the study) are within their budgets.
    expectStatus(await test.http.get(`/v1/studies/${study}/history`).set(...auth(user)), 200);
    expectStatus(await test.http.get(`/v1/studies/${study}`).set(...auth(user)), 200);
    // Another project's engine reads have their own budget.
    expectStatus(await test.http.get(`/v1/studies/${studyB}/engine`).set(...auth(userB)), 200);
  });

  it('a refused request carries the error body on every route class, including runner reports', async () => {
    const projectE = await createProject(test, { name: 'reports' });
    const runnerKey = await projectKey(test, 'runner', projectE);
    const user = await projectKey(test, 'user', projectE);
    const study = (
      await createStudy(test, user, { ...quadraticStudy(), projectId: projectE, budget: { maxEvaluations: 1000 } })
    ).id as string;
    const runner = await registerRunner(test, runnerKey);
    const leased = expectStatus(await lease(test, runner, study), 200);
    const trialId = leased.body.trial.id as string;
    // Spend the token's own budget on heartbeats of its trial.
    const { ok, refusal } = await untilRefused(
      () =>
        test.http
          .post(`/v1/trials/${trialId}/heartbeat`)
          .set(...auth(runner.token))
          .send({}),
      KEY_BUDGET,
    );
    assert.equal(ok, KEY_BUDGET - 1); // the lease was one of its requests
    assertRateLimited(refusal, 'key', KEY_BUDGET);
    const complete = await test.http
      .post(`/v1/trials/${trialId}/complete`)
      .set(...auth(runner.token))
      .send({ outputs: { loss: 1 } });
    assertRateLimited(complete, 'key', KEY_BUDGET);
    // Nothing was written: the trial is still running, for the runner to report after Retry-After.
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(user)), 200).body;
    assert.equal(trial.status, 'running');
  });
});

describe('rate limit configuration', () => {
  it('defaults that a fleet of runners at the documented cadence stays under (README.md, "Rate limits")', () => {
    const limits = loadConfig({}).rateLimits;
    assert.deepEqual(limits, { windowSeconds: 10, keyPerSecond: 20, projectPerSecond: 50, expensivePerSecond: 10 });
  });

  it('each variable is an integer in its range, named when it is not; 0 turns a budget off', () => {
    const variables = [
      'MESHTUNE_RATE_LIMIT_WINDOW_SECONDS',
      'MESHTUNE_RATE_LIMIT_KEY_PER_SECOND',
      'MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND',
      'MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND',
    ];
    for (const name of variables) {
      for (const bad of ['-1', '1.5', 'abc', '1e9', ' 5x']) {
        assert.throws(
          () => loadConfig({ [name]: bad }),
          (error: unknown) => error instanceof ConfigError && error.message.startsWith(`${name} must be an integer`),
          `${name}=${bad}`,
        );
      }
    }
    assert.throws(() => loadConfig({ MESHTUNE_RATE_LIMIT_WINDOW_SECONDS: '0' }), ConfigError);
    assert.equal(loadConfig({ MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '0' }).rateLimits.keyPerSecond, 0);
  });

  it("a project budget below one key's is refused, naming both variables", () => {
    assert.throws(
      () => loadConfig({ MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '30', MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '20' }),
      /MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND \(20\) must be at least MESHTUNE_RATE_LIMIT_KEY_PER_SECOND \(30\)/,
    );
    // With the key budget off, any project budget stands.
    assert.equal(
      loadConfig({ MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '0', MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '5' }).rateLimits
        .projectPerSecond,
      5,
    );
  });
});
