import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'supertest';
import type { TestServer } from './test-server';

export const auth = (key: string): [string, string] => ['Authorization', `Bearer ${key}`];

export function expectStatus(response: Response, status: number): Response {
  if (response.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response;
}

export function bbo3Example(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(process.cwd(), 'docs/examples/bbo3.json'), 'utf8')) as Record<string, unknown>;
}

export async function createKey(
  test: TestServer,
  scope: 'admin' | 'user' | 'runner',
  name = `${scope} key`,
): Promise<string> {
  return (await createKeyWithId(test, scope, name)).key;
}

/** A new API key (admin key), with its id: for the specs that list or revoke it. */
export async function createKeyWithId(
  test: TestServer,
  scope: 'admin' | 'user' | 'runner',
  name = `${scope} key`,
): Promise<{ id: string; key: string }> {
  const response = expectStatus(
    await test.http
      .post('/v1/api-keys')
      .set(...auth(test.adminKey))
      .send({ name, scope }),
    201,
  );
  return { id: response.body.id as string, key: response.body.key as string };
}

/** A new project (admin key); returns its id. */
export async function createProject(test: TestServer, body: Record<string, unknown>): Promise<string> {
  return expectStatus(
    await test.http
      .post('/v1/projects')
      .set(...auth(test.adminKey))
      .send(body),
    201,
  ).body.id as string;
}

/** A `user` or `runner` key of the project. */
export async function projectKey(test: TestServer, scope: 'user' | 'runner', projectId: string): Promise<string> {
  const created = expectStatus(
    await test.http
      .post('/v1/api-keys')
      .set(...auth(test.adminKey))
      .send({ name: `${scope} of ${projectId}`, scope, projectId }),
    201,
  ).body;
  assert.equal(created.projectId, projectId);
  return created.key as string;
}

export interface TestRunner {
  id: string;
  token: string;
}

/** `fields`: more registration fields (e.g. `maxConcurrentTrials` for a runner standing for a fleet). */
export async function registerRunner(
  test: TestServer,
  runnerKey: string,
  name = 'runner',
  fields: Record<string, unknown> = {},
): Promise<TestRunner> {
  const response = expectStatus(
    await test.http
      .post('/v1/runners')
      .set(...auth(runnerKey))
      .send({ name, gpus: 1, gpuMemoryMb: 81920, labels: ['a100'], ...fields }),
    201,
  );
  return { id: response.body.id as string, token: response.body.token as string };
}

export async function createStudy(
  test: TestServer,
  userKey: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return expectStatus(
    await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .send(body),
    201,
  ).body as Record<string, unknown>;
}

/**
 * A study body the API must refuse: 400 VALIDATION_FAILED whose details name `field`, and no
 * study written (the project's count is unchanged).
 */
export async function assertStudyRefused(test: TestServer, key: string, body: object, field: string): Promise<void> {
  const count = async () => expectStatus(await test.http.get('/v1/studies').set(...auth(key)), 200).body.total;
  const before = await count();
  const response = expectStatus(
    await test.http
      .post('/v1/studies')
      .set(...auth(key))
      .send(body),
    400,
  ).body;
  assert.equal(response.code, 'VALIDATION_FAILED');
  assert.ok(
    (response.details as { field: string }[]).some((detail) => detail.field === field),
    `details ${JSON.stringify(response.details)} should name ${field}`,
  );
  assert.equal(await count(), before);
}

/** A small two-parameter study on a synthetic objective. */
export function quadraticStudy(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'quadratic',
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'integer', lower: -10, upper: 10 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ x: 2, y: 3 }],
    budget: { maxEvaluations: 20, maxAttempts: 2, leaseSeconds: 60 },
    algorithm: { name: 'random', seed: 1 },
    ...overrides,
  };
}

export async function lease(test: TestServer, runner: TestRunner, studyId?: string): Promise<Response> {
  return test.http
    .post(`/v1/runners/${runner.id}/lease`)
    .set(...auth(runner.token))
    .send(studyId === undefined ? {} : { studyId });
}

/** A user's point enqueued on the study (POST /v1/studies/{id}/trials), with `key`. */
export async function enqueuePoint(
  test: TestServer,
  key: string,
  studyId: string,
  parameters: Record<string, unknown>,
): Promise<Response> {
  return test.http
    .post(`/v1/studies/${studyId}/trials`)
    .set(...auth(key))
    .send({ parameters });
}

/** A runner's report on a trial: heartbeat, complete, fail, release or decline, with its token. */
export async function report(
  test: TestServer,
  runner: TestRunner,
  trialId: string,
  action: 'heartbeat' | 'complete' | 'fail' | 'release' | 'decline',
  body: Record<string, unknown> = {},
): Promise<Response> {
  return test.http
    .post(`/v1/trials/${trialId}/${action}`)
    .set(...auth(runner.token))
    .send(body);
}

/** The trial is still running under `runner`'s lease (read with `key`): what another caller's attempt must leave. */
export async function assertLeasedTo(
  test: TestServer,
  key: string,
  trialId: string,
  runner: TestRunner,
): Promise<void> {
  const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(key)), 200).body;
  assert.equal(trial.status, 'running');
  assert.equal(trial.runnerId, runner.id);
}
