import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_PROJECT_ID } from '../../api/src/projects/project.entity';
import {
  auth,
  createKey,
  createKeyWithId,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Query-string keys the validation never saw (docs/reliability.md, finding 37): on every operation
 * of the OpenAPI document, a query key no route reads — an unknown name, or one named like a
 * property every JavaScript object inherits (`constructor`, `toString`, `__proto__`…, which
 * class-transformer drops in silence where any other unknown name is a 400) — is a 400 naming it,
 * and the operation does nothing (the trial stays leased, the key unrevoked, the study active).
 */
const NAMES = ['zz_not_a_parameter', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
}

describe('query keys no route reads, on every operation', { timeout: 300_000 }, () => {
  let test: TestServer;
  let runnerKey: string;
  let runner: TestRunner;
  let studyId: string;
  let trialId: string;
  let keyId: string;
  let operations: Operation[];

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 1_000_000 });
    runnerKey = await createKey(test, 'runner');
    runner = await registerRunner(test, runnerKey);
    studyId = String((await createStudy(test, test.adminKey, quadraticStudy({ name: 'queries' }))).id);
    trialId = String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
    keyId = (await createKeyWithId(test, 'user', 'to keep')).id;
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method, path }) as Operation));
  });
  after(async () => {
    await test.close();
  });

  /** The key each operation accepts: runner routes take the runner's token (registration its key). */
  function keyFor(operation: Operation): string {
    if (operation.path === '/v1/runners' && operation.method === 'post') return runnerKey;
    if (
      /^\/v1\/(trials\/\{trialId\}|runners\/\{runnerId\})\/(heartbeat|complete|fail|release|decline|lease)$/.test(
        operation.path,
      )
    )
      return runner.token;
    return test.adminKey;
  }

  function urlOf(operation: Operation, query: string): string {
    const ids: Record<string, string> = { studyId, trialId, runnerId: runner.id, keyId, projectId: DEFAULT_PROJECT_ID };
    const path = operation.path.replace(/\{(\w+)\}/g, (_whole, name: string) => {
      assert.ok(ids[name] !== undefined, `no id for {${name}} in ${operation.path}`);
      return ids[name];
    });
    return `${path}?${query}`;
  }

  it('finds the operations of the document', () => {
    assert.ok(operations.length >= 25, `${operations.length} operations`);
  });

  it('a query key that is not a parameter of the operation, or is named like an inherited property: 400 naming it, nothing done', async () => {
    const wrong: string[] = [];
    for (const name of NAMES) {
      for (const operation of operations) {
        const response = await test.http[operation.method](urlOf(operation, `${encodeURIComponent(name)}=1`))
          .set(...auth(keyFor(operation)))
          .set('Content-Type', 'application/json')
          .send(operation.method === 'get' || operation.method === 'delete' ? undefined : '{}');
        const details = (response.body as { details?: { field: string }[] }).details ?? [];
        if (response.status !== 400 || !details.some((detail) => detail.field === name)) {
          wrong.push(
            `${operation.method.toUpperCase()} ${operation.path}?${name}=1: ${response.status} ${JSON.stringify(response.body).slice(0, 160)}`,
          );
        }
      }
    }
    assert.deepEqual(wrong, []);
    // Nothing was done by any of them.
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(test.adminKey)), 200).body;
    assert.equal(trial.status, 'running');
    const study = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(test.adminKey)), 200).body;
    assert.equal(study.status, 'active');
    const keys = expectStatus(await test.http.get('/v1/api-keys?limit=500').set(...auth(test.adminKey)), 200).body;
    assert.ok(
      (keys.items as { id: string }[]).some((key) => key.id === keyId),
      'the key is still listed (not revoked)',
    );
  });

  it('an integer query parameter written other than as a plain decimal integer: 400 naming it', async () => {
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body as {
      paths: Record<
        string,
        Record<string, { parameters?: { in: string; name: string; schema?: { type?: string } }[] }>
      >;
    };
    const integers = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, operation]) =>
        (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'query' && parameter.schema?.type === 'integer')
          .map((parameter) => ({ operation: { method, path } as Operation, name: parameter.name })),
      ),
    );
    assert.ok(integers.length >= 11, `${integers.length} integer query parameters`);
    // All but the last read as a legal value through Number() (0x10 is 16, ' 5' is 5, 1e2 is 100,
    // -0 is 0); U+0665, the Arabic-Indic digit five, was refused already.
    const spellings = ['0x10', '0b11', '0o7', '1e2', '5.0', '+5', ' 5', '5 ', '05', '-0', '\u0665'];
    const wrong: string[] = [];
    for (const { operation, name } of integers) {
      for (const spelling of spellings) {
        const response = await test.http
          .get(urlOf(operation, `${name}=${encodeURIComponent(spelling)}`))
          .set(...auth(test.adminKey));
        const details = (response.body as { details?: { field: string }[] }).details ?? [];
        if (response.status !== 400 || !details.some((detail) => detail.field === name)) {
          wrong.push(`${operation.path}?${name}=${JSON.stringify(spelling)}: ${response.status}`);
        }
      }
      for (const legal of ['1', '2', '10']) {
        const response = await test.http.get(urlOf(operation, `${name}=${legal}`)).set(...auth(test.adminKey));
        if (response.status !== 200) wrong.push(`${operation.path}?${name}=${legal}: ${response.status} (legal)`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the parameters an operation declares are still read', async () => {
    const page = expectStatus(
      await test.http.get(`/v1/studies/${studyId}/trials?limit=1&status=running`).set(...auth(test.adminKey)),
      200,
    ).body;
    assert.equal(page.limit, 1);
    assert.equal(page.items.length, 1);
    const csv = expectStatus(
      await test.http.get(`/v1/studies/${studyId}/history?format=csv`).set(...auth(test.adminKey)),
      200,
    );
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
  });
});
