import type { DataSource } from 'typeorm';
import {
  auth,
  createProject,
  createStudy,
  expectStatus,
  projectKey,
  quadraticStudy,
  type TestRunner,
} from './api-client';
import type { TestServer } from './test-server';

/** A project of its own with a user key and a runner key: the unit the runner quotas work on. */
export interface Fleet {
  projectId: string;
  userKey: string;
  runnerKey: string;
}

/** A new project (with `quotas`, e.g. `maxRunners`) and its user and runner keys. */
export async function createFleet(
  test: TestServer,
  name: string,
  quotas: Record<string, unknown> = {},
): Promise<Fleet> {
  const projectId = await createProject(test, { name, ...quotas });
  return {
    projectId,
    userKey: await projectKey(test, 'user', projectId),
    runnerKey: await projectKey(test, 'runner', projectId),
  };
}

/** A study of the fleet's project (`quadraticStudy` with `overrides`), created with its user key; its id. */
export async function fleetStudy(test: TestServer, fleet: Fleet, overrides: Record<string, unknown>): Promise<string> {
  return String((await createStudy(test, fleet.userKey, quadraticStudy(overrides))).id);
}

/** `POST /v1/runners` (1 GPU unless `body` says otherwise), the answer unchecked: for refusals and races. */
export function postRunner(test: TestServer, key: string, body: Record<string, unknown>) {
  return test.http
    .post('/v1/runners')
    .set(...auth(key))
    .send({ gpus: 1, ...body });
}

/** A runner registered with `body` (201 expected). */
export async function newRunner(
  test: TestServer,
  runnerKey: string,
  body: Record<string, unknown>,
): Promise<TestRunner> {
  const created = expectStatus(await postRunner(test, runnerKey, body), 201).body;
  return { id: created.id as string, token: created.token as string };
}

/** `SELECT COUNT(*) FROM <from>`: rows the tests expect to have been written, or not. */
export async function countRows(db: DataSource, from: string, params: unknown[]): Promise<number> {
  return ((await db.query(`SELECT COUNT(*)::int AS n FROM ${from}`, params)) as { n: number }[])[0].n;
}
