import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertLeasedTo,
  auth,
  createKey,
  createKeyWithId,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
  createProject,
  projectKey,
} from '../support/api-client';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { dataSourceOptions } from '../../api/src/database/data-source-options';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import { DEFAULT_PROJECT_ID } from '../../api/src/projects/project.entity';
import { startTestServer, type TestServer } from '../support/test-server';
import { call, createApiKey, expectCall, newAdminKey, spawnApi } from './cluster';

type Caller = 'admin' | 'user' | 'runner' | 'runnerToken';
const PUBLIC = new Set(['GET /health', 'GET /health/ready']);

/**
 * Who may call each operation of the OpenAPI document. Every operation must be listed here, so a
 * new route fails this test until its access is decided. (test/api/auth.e2e.spec.ts checks a
 * subset with 401/403 codes; this covers every documented operation.)
 */
const ACCESS: Record<string, Caller[]> = {
  'GET /v1/api-keys': ['admin'],
  'GET /v1/projects': ['admin', 'user'],
  'POST /v1/projects': ['admin'],
  'PATCH /v1/projects/{projectId}': ['admin'],
  'POST /v1/api-keys': ['admin'],
  'DELETE /v1/api-keys/{keyId}': ['admin'],
  'GET /v1/runners': ['admin', 'user'],
  'POST /v1/runners': ['admin', 'runner', 'runnerToken'],
  'POST /v1/runners/{runnerId}/clear-quarantine': ['admin', 'user'],
  'POST /v1/runners/{runnerId}/heartbeat': ['runnerToken'],
  'POST /v1/runners/{runnerId}/lease': ['runnerToken'],
  'GET /v1/studies': ['admin', 'user'],
  'POST /v1/studies': ['admin', 'user'],
  'POST /v1/studies/import/nomad': ['admin', 'user'],
  'POST /v1/studies/{studyId}/import/nomad-cache': ['admin', 'user'],
  'GET /v1/studies/{studyId}': ['admin', 'user'],
  'GET /v1/studies/{studyId}/best': ['admin', 'user'],
  'GET /v1/studies/{studyId}/engine': ['admin', 'user'],
  'GET /v1/studies/{studyId}/history': ['admin', 'user'],
  'POST /v1/studies/{studyId}/pause': ['admin', 'user'],
  'POST /v1/studies/{studyId}/resume': ['admin', 'user'],
  'POST /v1/studies/{studyId}/stop': ['admin', 'user'],
  'DELETE /v1/studies/{studyId}': ['admin', 'user'],
  'GET /v1/studies/{studyId}/runner-declines': ['admin', 'user'],
  'GET /v1/studies/{studyId}/trials': ['admin', 'user'],
  'POST /v1/studies/{studyId}/trials': ['admin', 'user'],
  'GET /v1/trials/{trialId}': ['admin', 'user'],
  'POST /v1/trials/{trialId}/complete': ['runnerToken'],
  'POST /v1/trials/{trialId}/decline': ['runnerToken'],
  'POST /v1/trials/{trialId}/fail': ['runnerToken'],
  'POST /v1/trials/{trialId}/heartbeat': ['runnerToken'],
  'POST /v1/trials/{trialId}/release': ['runnerToken'],
};

function assertErrorBody(body: Record<string, unknown>, status: number, code: string): void {
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
}

describe('auth matrix over every operation of the OpenAPI document', () => {
  let test: TestServer;
  let keys: Record<'admin' | 'user' | 'runner', string>;
  let runnerA: TestRunner;
  let runnerB: TestRunner;
  let studyId: string;
  let trialOfA: string;
  let operations: { method: string; path: string }[];

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 1_000_000 });
    keys = { admin: test.adminKey, user: await createKey(test, 'user'), runner: await createKey(test, 'runner') };
    runnerA = await registerRunner(test, keys.runner, 'a');
    runnerB = await registerRunner(test, keys.runner, 'b');
    studyId = String((await createStudy(test, keys.user, quadraticStudy())).id);
    trialOfA = expectStatus(await lease(test, runnerA, studyId), 200).body.trial.id as string;
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
  });
  after(async () => test.close());

  const concrete = (path: string): string =>
    path
      .replace('{studyId}', studyId)
      // Acting on another runner's trial with the wrong scope must be refused before anything runs.
      .replace('{trialId}', trialOfA)
      .replace('{runnerId}', runnerA.id)
      .replace('{keyId}', '00000000-0000-4000-8000-000000000000')
      .replace('{projectId}', DEFAULT_PROJECT_ID);

  const send = (method: string, path: string, key: string | null) => {
    const verb = method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
    const pending = test.http[verb](path);
    if (key !== null) pending.set(...auth(key));
    return verb === 'post' || verb === 'patch' ? pending.send({}) : pending;
  };

  it('every documented operation is classified here (public or its scopes)', () => {
    const unknown = operations
      .map((operation) => `${operation.method} ${operation.path}`)
      .filter((name) => !PUBLIC.has(name) && ACCESS[name] === undefined);
    assert.deepEqual(unknown, []);
  });

  it('no key, a malformed header, an unknown key: 401 with the error body, on every protected operation', async () => {
    for (const { method, path } of operations) {
      if (PUBLIC.has(`${method} ${path}`)) continue;
      for (const header of [null, 'Basic abc', 'Bearer mt_user_0123456789abcdef0123456789abcdef']) {
        const pending = send(method, concrete(path), null);
        if (header !== null) pending.set('Authorization', header);
        const response = await pending;
        assert.equal(response.status, 401, `${method} ${path} with ${header}: ${response.status}`);
        assertErrorBody(response.body, 401, 'UNAUTHENTICATED');
      }
    }
  });

  it('wrong scope: 403 FORBIDDEN; allowed callers are never 401/403', async () => {
    const callers: Record<Caller, string> = { ...keys, runnerToken: runnerA.token };
    // Routes that change state are tried last, with allowed callers, so the matrix does not disturb itself.
    for (const { method, path } of operations) {
      const name = `${method} ${path}`;
      if (PUBLIC.has(name)) continue;
      for (const [caller, key] of Object.entries(callers) as [Caller, string][]) {
        if (ACCESS[name].includes(caller)) continue;
        const response = await send(method, concrete(path), key);
        assert.equal(response.status, 403, `${caller} on ${name}: ${response.status} ${JSON.stringify(response.body)}`);
        assertErrorBody(response.body, 403, 'FORBIDDEN');
      }
    }
    for (const { method, path } of operations) {
      const name = `${method} ${path}`;
      if (PUBLIC.has(name) || /\/(complete|fail|release|decline|stop|pause)$/.test(path)) continue;
      for (const caller of ACCESS[name]) {
        const response = await send(method, concrete(path), callers[caller]);
        assert.ok(![401, 403].includes(response.status), `${caller} on ${name}: ${response.status}`);
        assert.ok(response.status < 500, `${caller} on ${name}: ${response.status} ${JSON.stringify(response.body)}`);
      }
    }
  });

  it("another runner's token: 403 on A's runner routes and on every report of A's trial; A's lease is untouched", async () => {
    for (const path of [`/v1/runners/${runnerA.id}/lease`, `/v1/runners/${runnerA.id}/heartbeat`]) {
      const response = await test.http
        .post(path)
        .set(...auth(runnerB.token))
        .send({});
      assert.equal(response.status, 403, path);
      assertErrorBody(response.body, 403, 'FORBIDDEN');
    }
    const reports: [Parameters<typeof report>[3], Record<string, unknown>][] = [
      ['heartbeat', { progress: 0.5 }],
      ['complete', { outputs: { loss: 1 } }],
      ['fail', { error: 'not mine' }],
      ['release', {}],
      ['decline', { reason: 'not mine' }],
    ];
    for (const [action, body] of reports) {
      const response = await report(test, runnerB, trialOfA, action, body);
      assert.equal(response.status, 403, `${action}: ${JSON.stringify(response.body)}`);
      assertErrorBody(response.body, 403, 'TRIAL_NOT_LEASED_TO_RUNNER');
    }
    await assertLeasedTo(test, keys.user, trialOfA, runnerA);
  });

  it('keys are shown once: never in lists, never in runner listings', async () => {
    const created = await createKeyWithId(test, 'user', 'shown once');
    assert.equal(typeof created.key, 'string');
    const secrets = [keys.admin, keys.user, keys.runner, runnerA.token, runnerB.token, created.key];
    for (const path of ['/v1/api-keys', '/v1/api-keys?limit=100', '/v1/runners', `/v1/studies/${studyId}`]) {
      const response = expectStatus(await test.http.get(path).set(...auth(keys.admin)), 200);
      for (const secret of secrets) assert.ok(!response.text.includes(secret), `${path} returns a key`);
    }
    const listed = expectStatus(await test.http.get('/v1/api-keys').set(...auth(keys.admin)), 200).body;
    for (const item of listed.items as Record<string, unknown>[]) {
      assert.equal(item.key, undefined);
      assert.equal(item.keyHash, undefined);
    }
  });
});

/** Another project's resource answers exactly what a missing one does (projects/project-scope.ts). */
const NOT_FOUND_CODE: Record<string, string> = {
  '{studyId}': 'STUDY_NOT_FOUND',
  '{trialId}': 'TRIAL_NOT_FOUND',
  '{runnerId}': 'RUNNER_NOT_FOUND',
};

/** Bodies that pass each route's validation, so the answer is the project check's and not a 400. */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  'POST /v1/studies/{studyId}/trials': { parameters: { x: 1, y: 1 } },
  'POST /v1/studies/{studyId}/import/nomad-cache': { cacheFile: '1 2 EVAL_OK 3\n' },
  'POST /v1/trials/{trialId}/heartbeat': { progress: 0.5 },
  'POST /v1/trials/{trialId}/complete': { outputs: { loss: 1 } },
  'POST /v1/trials/{trialId}/fail': { error: 'not mine' },
  'POST /v1/trials/{trialId}/decline': { reason: 'not mine' },
};

async function runnerWithLabels(test: TestServer, runnerKey: string, labels: string[]): Promise<TestRunner> {
  const response = expectStatus(
    await test.http
      .post('/v1/runners')
      .set(...auth(runnerKey))
      .send({ name: `runner ${labels.join('+') || 'plain'}`, gpus: 1, labels }),
    201,
  );
  return { id: response.body.id as string, token: response.body.token as string };
}

describe('projects: another project is invisible on every route, runners lease only their project', () => {
  let test: TestServer;
  let operations: { method: string; path: string }[];
  /** Project A is the default project (existing single-team use); B is a second team. */
  let projectB: string;
  let userA: string;
  let userB: string;
  let runnerKeyB: string;
  let runnerA: TestRunner;
  let runnerB: TestRunner;
  let studyA: string;
  let trialOfA: string;

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 1_000_000, leaseWaitMs: 0 });
    projectB = await createProject(test, { name: 'team-b' });
    userA = await createKey(test, 'user');
    userB = await projectKey(test, 'user', projectB);
    runnerKeyB = await projectKey(test, 'runner', projectB);
    runnerA = await registerRunner(test, await createKey(test, 'runner'), 'a');
    runnerB = await registerRunner(test, runnerKeyB, 'b');
    studyA = String((await createStudy(test, userA, quadraticStudy({ budget: { maxEvaluations: 50 } }))).id);
    trialOfA = expectStatus(await lease(test, runnerA, studyA), 200).body.trial.id as string;
    const document = expectStatus(await test.http.get('/openapi.json'), 200).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
  });
  after(async () => test.close());

  it("every route naming A's study, trial or runner answers 404 to project B's keys and runners, and changes nothing", async () => {
    const before = expectStatus(await test.http.get(`/v1/studies/${studyA}`).set(...auth(userA)), 200).body;
    let checked = 0;
    for (const { method, path } of operations) {
      const name = `${method} ${path}`;
      const parameter = Object.keys(NOT_FOUND_CODE).find((candidate) => path.includes(candidate));
      if (parameter === undefined) continue;
      // B's user key where a user key may call; B's runner token on the report routes. Runner
      // routes naming a runner are the runner's own (another token is 403 before anything).
      const key = ACCESS[name].includes('user')
        ? userB
        : ACCESS[name].includes('runnerToken') && parameter !== '{runnerId}'
          ? runnerB.token
          : null;
      if (key === null) continue;
      const concrete = path
        .replace('{studyId}', studyA)
        .replace('{trialId}', trialOfA)
        .replace('{runnerId}', runnerA.id);
      const verb = method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
      const pending = test.http[verb](concrete).set(...auth(key));
      const response = await (verb === 'get' ? pending : pending.send(VALID_BODIES[name] ?? {}));
      assert.equal(response.status, 404, `${name}: ${response.status} ${JSON.stringify(response.body)}`);
      assertErrorBody(response.body, 404, NOT_FOUND_CODE[parameter]);
      checked += 1;
    }
    // studies (get, pause, resume, stop, best, engine, history, trials ×2, nomad-cache), trial,
    // the four reports, clear-quarantine: a new route naming a study is checked without listing it.
    assert.ok(checked >= 16, `only ${checked} routes checked`);
    // B's runner naming A's study in a lease: 404 too.
    const leased = await lease(test, runnerB, studyA);
    assert.equal(leased.status, 404, JSON.stringify(leased.body));
    assertErrorBody(leased.body, 404, 'STUDY_NOT_FOUND');
    // Nothing of A changed: still active, no trial added, A's lease untouched.
    const after = expectStatus(await test.http.get(`/v1/studies/${studyA}`).set(...auth(userA)), 200).body;
    assert.equal(after.status, 'active');
    assert.deepEqual(after.trialCounts, before.trialCounts);
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialOfA}`).set(...auth(userA)), 200).body;
    assert.equal(trial.status, 'running');
    assert.equal(trial.runnerId, runnerA.id);
  });

  it('listings show the caller’s project only; admin keys see all and may choose', async () => {
    const studyB = await createStudy(test, userB, quadraticStudy({ name: 'b' }));
    assert.equal(studyB.projectId, projectB);
    const listedByB = expectStatus(await test.http.get('/v1/studies').set(...auth(userB)), 200).body;
    assert.deepEqual(
      (listedByB.items as { id: string }[]).map((item) => item.id),
      [studyB.id],
    );
    const listedByA = expectStatus(await test.http.get('/v1/studies').set(...auth(userA)), 200).body;
    assert.ok(!(listedByA.items as { id: string }[]).some((item) => item.id === studyB.id));
    assert.ok((listedByA.items as { projectId: string }[]).every((item) => item.projectId === DEFAULT_PROJECT_ID));
    const runnersOfB = expectStatus(await test.http.get('/v1/runners').set(...auth(userB)), 200).body;
    assert.deepEqual(
      (runnersOfB.items as { id: string }[]).map((item) => item.id),
      [runnerB.id],
    );
    const projectsOfB = expectStatus(await test.http.get('/v1/projects').set(...auth(userB)), 200).body;
    assert.deepEqual(
      (projectsOfB.items as { id: string }[]).map((item) => item.id),
      [projectB],
    );
    // A user key naming another project: 404, as for its studies.
    const peek = await test.http.get(`/v1/studies?projectId=${projectB}`).set(...auth(userA));
    assert.equal(peek.status, 404);
    assertErrorBody(peek.body, 404, 'PROJECT_NOT_FOUND');
    const forged = await test.http
      .post('/v1/studies')
      .set(...auth(userA))
      .send(quadraticStudy({ projectId: projectB }));
    assertErrorBody(forged.body, 404, 'PROJECT_NOT_FOUND');
    // Admin: every project, or the one asked for; creates where it says.
    const all = expectStatus(await test.http.get('/v1/studies').set(...auth(test.adminKey)), 200).body;
    assert.equal(all.total, 2);
    const onlyB = expectStatus(
      await test.http.get(`/v1/studies?projectId=${projectB}`).set(...auth(test.adminKey)),
      200,
    ).body;
    assert.equal(onlyB.total, 1);
    const adminMade = await createStudy(test, test.adminKey, quadraticStudy({ projectId: projectB }));
    assert.equal(adminMade.projectId, projectB);
    expectStatus(await test.http.get(`/v1/studies/${String(adminMade.id)}`).set(...auth(userB)), 200);
    const projects = expectStatus(await test.http.get('/v1/projects').set(...auth(test.adminKey)), 200).body;
    assert.deepEqual((projects.items as { name: string }[]).map((item) => item.name).sort(), ['default', 'team-b']);
    // Admin keys have no project; naming one for an admin key is a 400 naming the field.
    const adminWithProject = await test.http
      .post('/v1/api-keys')
      .set(...auth(test.adminKey))
      .send({ name: 'x', scope: 'admin', projectId: projectB });
    assert.equal(adminWithProject.status, 400);
    assert.equal(adminWithProject.body.details[0].field, 'projectId');
    const duplicate = await test.http
      .post('/v1/projects')
      .set(...auth(test.adminKey))
      .send({ name: 'team-b' });
    assertErrorBody(duplicate.body, 409, 'PROJECT_NAME_TAKEN');
  });

  it("a runner without a study never leases another project's trials; with work in its own project it does", async () => {
    const projectC = await createProject(test, { name: 'team-c' });
    const userC = await projectKey(test, 'user', projectC);
    const runnerC = await registerRunner(test, await projectKey(test, 'runner', projectC), 'c');
    // A's study has budget and room, yet C's runner gets nothing: C has no study.
    const idle = await lease(test, runnerC);
    assert.equal(idle.status, 204, JSON.stringify(idle.body));
    const studyC = String((await createStudy(test, userC, quadraticStudy({ name: 'c' }))).id);
    for (let i = 0; i < 3; i += 1) {
      const granted = expectStatus(await lease(test, runnerC), 200).body;
      assert.equal(granted.trial.studyId, studyC);
    }
    // And A's runner never gets C's trials.
    for (let i = 0; i < 3; i += 1) {
      const granted = expectStatus(await lease(test, runnerA), 200).body;
      assert.equal(granted.trial.studyId, studyA);
    }
  });

  it('required labels: only runners with every label lease the study, naming it without them is 409', async () => {
    const projectL = await createProject(test, { name: 'team-labels' });
    const userL = await projectKey(test, 'user', projectL);
    const runnerKeyL = await projectKey(test, 'runner', projectL);
    const a100 = await runnerWithLabels(test, runnerKeyL, ['a100']);
    const big = await runnerWithLabels(test, runnerKeyL, ['a100', '80g', 'ib']);
    const study = await createStudy(test, userL, quadraticStudy({ requiredRunnerLabels: ['a100', '80g'] }));
    assert.deepEqual(study.requiredRunnerLabels, ['a100', '80g']);
    assert.equal((await lease(test, a100)).status, 204);
    const refused = await lease(test, a100, String(study.id));
    assertErrorBody(refused.body, 409, 'RUNNER_LABELS_MISSING');
    assert.deepEqual(refused.body.details.missing, ['80g']);
    assert.equal(expectStatus(await lease(test, big), 200).body.trial.studyId, study.id);
    assert.equal(expectStatus(await lease(test, big, String(study.id)), 200).body.trial.studyId, study.id);
    // A study without labels is for every runner of its project.
    const open = await createStudy(test, userL, quadraticStudy({ name: 'open' }));
    assert.equal(expectStatus(await lease(test, a100), 200).body.trial.studyId, open.id);
  });

  it('quotas: active studies and running trials, refused with 409 naming the quota; exact under concurrent leases', async () => {
    const projectQ = await createProject(test, { name: 'team-quota', maxActiveStudies: 2, maxParallelTrials: 3 });
    const userQ = await projectKey(test, 'user', projectQ);
    const runnerKeyQ = await projectKey(test, 'runner', projectQ);
    const tooWide = await test.http
      .post('/v1/studies')
      .set(...auth(userQ))
      .send(quadraticStudy({ budget: { maxEvaluations: 20, maxParallelTrials: 4 } }));
    assertErrorBody(tooWide.body, 409, 'PROJECT_QUOTA_EXCEEDED');
    assert.equal(tooWide.body.details.quota, 'maxParallelTrials');
    // Without maxParallelTrials a study gets the project's quota, not the default of 1000.
    const first = await createStudy(test, userQ, quadraticStudy({ budget: { maxEvaluations: 40 } }));
    assert.equal((first.budget as { maxParallelTrials: number }).maxParallelTrials, 3);
    const second = await createStudy(test, userQ, quadraticStudy({ budget: { maxEvaluations: 40 } }));
    const third = await test.http
      .post('/v1/studies')
      .set(...auth(userQ))
      .send(quadraticStudy());
    assertErrorBody(third.body, 409, 'PROJECT_QUOTA_EXCEEDED');
    assert.equal(third.body.details.quota, 'maxActiveStudies');
    assert.match(third.body.message as string, /maxActiveStudies/);
    // Pausing frees a place; resuming when it was taken again is refused the same way.
    expectStatus(await test.http.post(`/v1/studies/${String(second.id)}/pause`).set(...auth(userQ)), 200);
    const replacement = await createStudy(test, userQ, quadraticStudy({ budget: { maxEvaluations: 40 } }));
    const resumed = await test.http.post(`/v1/studies/${String(second.id)}/resume`).set(...auth(userQ));
    assertErrorBody(resumed.body, 409, 'PROJECT_QUOTA_EXCEEDED');
    // Running trials: 8 runners lease at once, half naming each of two studies of 3 parallel each
    // (so the two studies' engine asks run at the same time); the project allows 3 in all.
    const runners = await Promise.all(Array.from({ length: 8 }, (_, i) => registerRunner(test, runnerKeyQ, `q${i}`)));
    const answers = await Promise.all(
      runners.map((runner, i) => lease(test, runner, String(i % 2 === 0 ? first.id : replacement.id))),
    );
    const granted = answers.filter((answer) => answer.status === 200);
    assert.equal(granted.length, 3, JSON.stringify(answers.map((answer) => answer.status)));
    assert.ok(answers.every((answer) => answer.status === 200 || answer.status === 204));
    const usage = expectStatus(await test.http.get('/v1/projects').set(...auth(userQ)), 200).body.items[0];
    assert.equal(usage.runningTrials, 3);
    assert.equal(usage.activeStudies, 2);
    // At the quota, naming a study or not: 204.
    for (const study of [first.id, replacement.id, undefined]) {
      const answer = await lease(test, runners[0], study === undefined ? undefined : String(study));
      assert.equal(answer.status, 204, JSON.stringify(answer.body));
    }
    // A finished trial frees a place; raising the quota lets more run.
    const done = granted[0].body.trial.id as string;
    const holder = runners[answers.indexOf(granted[0])];
    expectStatus(await report(test, holder, done, 'complete', { outputs: { loss: 1 } }), 200);
    expectStatus(await lease(test, runners[7]), 200);
    expectStatus(
      await test.http
        .patch(`/v1/projects/${projectQ}`)
        .set(...auth(test.adminKey))
        .send({ maxParallelTrials: 5 }),
      200,
    );
    const more = await Promise.all(runners.slice(3, 7).map((runner) => lease(test, runner)));
    assert.equal(more.filter((answer) => answer.status === 200).length, 2);
  });
});

describe('projects: a database from before projects is migrated into the default project', () => {
  it('existing keys, runners and studies keep working and belong to the default project; admin keys to none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-preprojects-'));
    try {
      let test = await startTestServer({ dataDir });
      const adminKey = test.adminKey;
      const userKey = await createKey(test, 'user');
      const runnerKey = await createKey(test, 'runner');
      const runner = await registerRunner(test, runnerKey, 'old');
      const study = String((await createStudy(test, userKey, quadraticStudy())).id);
      await test.stop();
      // Make it the database the previous release left: the projects migration undone (tables,
      // columns and data as before it), then started by this release.
      const database = await startEmbeddedPostgres(dataDir, null);
      const owner = new DataSource({ ...dataSourceOptions(database.ownerUrl), extra: { max: 1 } });
      await owner.initialize();
      // The projects migration and every one after it (a later one may change the projects
      // table: RunnerQuotas adds max_runners), newest first.
      const first = MIGRATIONS.findIndex((candidate) => candidate.name.startsWith('Projects'));
      const runner_ = owner.createQueryRunner();
      for (const migration of MIGRATIONS.slice(first).reverse()) {
        await new migration().down(runner_);
        await runner_.query('DELETE FROM migrations WHERE name = $1', [migration.name]);
      }
      const columns = (await runner_.query(
        `SELECT table_name FROM information_schema.columns WHERE column_name = 'project_id'`,
      )) as unknown[];
      assert.equal(columns.length, 0, 'the legacy schema has no projects');
      await runner_.release();
      await owner.destroy();
      await database.stop();

      test = await startTestServer({ dataDir, adminKey });
      try {
        const got = expectStatus(await test.http.get(`/v1/studies/${study}`).set(...auth(userKey)), 200).body;
        assert.equal(got.projectId, DEFAULT_PROJECT_ID);
        assert.deepEqual(got.requiredRunnerLabels, []);
        const keys = expectStatus(await test.http.get('/v1/api-keys?limit=100').set(...auth(adminKey)), 200).body;
        for (const key of keys.items as { scope: string; projectId: string | null }[]) {
          assert.equal(key.projectId, key.scope === 'admin' ? null : DEFAULT_PROJECT_ID, JSON.stringify(key));
        }
        const runners = expectStatus(await test.http.get('/v1/runners').set(...auth(userKey)), 200).body;
        assert.deepEqual(
          (runners.items as { id: string; projectId: string }[]).map((item) => [item.id, item.projectId]),
          [[runner.id, DEFAULT_PROJECT_ID]],
        );
        // The old runner token leases the old study, with or without naming it.
        assert.equal(expectStatus(await lease(test, runner), 200).body.trial.studyId, study);
        assert.equal(expectStatus(await lease(test, runner, study), 200).body.trial.studyId, study);
        // The old runner key still registers runners, in the default project.
        const fresh = await registerRunner(test, runnerKey, 'new');
        const listed = expectStatus(await test.http.get('/v1/runners').set(...auth(userKey)), 200).body;
        assert.ok((listed.items as { id: string }[]).some((item) => item.id === fresh.id));
      } finally {
        await test.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('failed authentications are rate limited', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 5 });
  });
  after(async () => test.close());

  it('after 5 failures a minute from one address: 429 with the error body, even for the chosen admin key', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await test.http.get('/v1/studies').set(...auth(`mt_user_guess_${attempt}_0123456789abcdef`));
      assert.equal(response.status, 401);
    }
    const blocked = await test.http.get('/v1/studies').set(...auth('mt_user_guess_again_0123456789abcdef'));
    assert.equal(blocked.status, 429);
    assertErrorBody(blocked.body, 429, 'TOO_MANY_REQUESTS');
    // The chosen MESHTUNE_ADMIN_KEY could be guessable, so it waits; generated keys still work
    // from a limited address (test/api/key-secrets.e2e.spec.ts).
    const chosen = await test.http.get('/v1/api-keys').set(...auth(test.adminKey));
    assert.equal(chosen.status, 429);
    // Public routes stay up.
    assert.equal((await test.http.get('/health')).status, 200);
  });
});

describe('CORS', () => {
  it('closed by default: no Access-Control-Allow-Origin on preflight or on requests', async () => {
    const test = await startTestServer();
    try {
      const preflight = await test.http
        .options('/v1/studies')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type');
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.equal(preflight.headers['access-control-allow-headers'], undefined);
      const simple = await test.http.get('/health').set('Origin', 'https://evil.example');
      assert.equal(simple.headers['access-control-allow-origin'], undefined);
    } finally {
      await test.close();
    }
  });

  it('MESHTUNE_CORS_ORIGINS opens it to the listed origins only', async () => {
    const test = await startTestServer({ corsOrigins: ['https://dashboard.example'] });
    try {
      const allowed = await test.http.get('/health').set('Origin', 'https://dashboard.example');
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://dashboard.example');
      const other = await test.http.get('/health').set('Origin', 'https://evil.example');
      assert.notEqual(other.headers['access-control-allow-origin'], 'https://evil.example');
      assert.notEqual(other.headers['access-control-allow-origin'], '*');
    } finally {
      await test.close();
    }
  });
});

describe('keys never reach the logs (debug level, real process)', { timeout: 120_000 }, () => {
  it('no key, token or guessed key appears in stdout/stderr; request lines carry request ids', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-logs-'));
    const adminKey = newAdminKey();
    try {
      const api = await spawnApi({ adminKey, dataDir, env: { MESHTUNE_LOG_LEVEL: 'debug' } });
      let output: string;
      const secrets: string[] = [adminKey];
      let requestId = '';
      try {
        const userKey = await createApiKey(api.url, adminKey, 'user');
        const runnerKey = await createApiKey(api.url, adminKey, 'runner');
        secrets.push(userKey, runnerKey);
        const runner = await expectCall(api.url, 'POST', '/v1/runners', runnerKey, { name: 'r', gpus: 1 }, 201);
        secrets.push(runner.token as string);
        const study = await expectCall(api.url, 'POST', '/v1/studies', userKey, quadraticStudy(), 201);
        const leased = await expectCall(
          api.url,
          'POST',
          `/v1/runners/${runner.id}/lease`,
          runner.token,
          { studyId: study.id },
          200,
        );
        await expectCall(
          api.url,
          'POST',
          `/v1/trials/${leased.trial.id}/complete`,
          runner.token,
          { outputs: { loss: 2 } },
          200,
        );
        const guessed = 'mt_admin_guessed_0123456789abcdef01234567';
        secrets.push(guessed);
        await call(api.url, 'GET', '/v1/api-keys', guessed);
        await call(api.url, 'GET', `/v1/studies?key=${userKey}`, null);
        await call(api.url, 'POST', '/v1/api-keys', adminKey, { name: userKey, scope: 'nope' });
        const traced = await call(api.url, 'GET', '/v1/studies', userKey);
        requestId = traced.headers.get('x-request-id') ?? '';
      } finally {
        await api.stop();
        output = api.output();
      }
      for (const secret of secrets) {
        assert.ok(!output.includes(secret), `a key (${secret.slice(0, 12)}…) was logged`);
        assert.ok(!output.includes(secret.slice(-24)), `the secret part of a key (${secret.slice(0, 12)}…) was logged`);
      }
      assert.ok(requestId.length > 0);
      const lines = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const traced = lines.find((line) => JSON.stringify(line).includes(requestId));
      assert.ok(traced !== undefined, 'the request line carries the request id');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
