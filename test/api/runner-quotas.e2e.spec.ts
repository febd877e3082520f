import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { auth, expectStatus, lease, report } from '../support/api-client';
import { countRows, createFleet, fleetStudy, newRunner, postRunner } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * A broken or hostile runner cannot hoard leases or flood the runner table (docs/reliability.md,
 * finding 13): a runner holds at most `maxConcurrentTrials` leases, exactly, however many of its
 * leases race; a project holds at most `maxRunners` runners, exactly, however many registrations
 * race, reclaiming stale runners without a lease first.
 */
describe('runner slots and the project quota on runners', () => {
  let test: TestServer;
  let db: DataSource;

  before(async () => {
    test = await startTestServer();
    db = test.get(DataSource);
  });
  after(async () => test.close());

  const trialRows = (studyId: string) => countRows(db, 'trials WHERE study_id = $1', [studyId]);
  const leaseRows = (studyId: string) =>
    countRows(db, 'trial_leases l JOIN trials t ON t.id = l.trial_id WHERE t.study_id = $1', [studyId]);
  const statuses = (answers: { status: number }[]) =>
    answers.reduce<Record<number, number>>(
      (tally, { status }) => ({ ...tally, [status]: (tally[status] ?? 0) + 1 }),
      {},
    );

  it('registers maxConcurrentTrials (1 to 256, default 16) and shows it', async () => {
    const team = await createFleet(test, 'slots-registration');
    const declared = expectStatus(
      await postRunner(test, team.runnerKey, { name: 'two', maxConcurrentTrials: 2 }),
      201,
    ).body;
    assert.equal(declared.maxConcurrentTrials, 2);
    const undeclared = expectStatus(await postRunner(test, team.runnerKey, { name: 'default' }), 201).body;
    assert.equal(undeclared.maxConcurrentTrials, 16);
    for (const bad of [0, 257, 1.5, null, '2']) {
      const refused = await postRunner(test, team.runnerKey, { name: 'bad', maxConcurrentTrials: bad });
      assert.equal(refused.status, 400, `maxConcurrentTrials ${JSON.stringify(bad)}`);
      assert.equal(refused.body.code, 'VALIDATION_FAILED');
    }
    // Registering again with its token changes its slots (a restart with another setting).
    const again = expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(String(declared.token)))
        .send({ name: 'two', maxConcurrentTrials: 3 }),
      201,
    ).body;
    assert.equal(again.id, declared.id);
    assert.equal(again.maxConcurrentTrials, 3);
  });

  it('50 concurrent leases of one runner with 2 slots: exactly 2 × 200 and 48 × 409 RUNNER_LEASE_LIMIT, nothing else written', async () => {
    const team = await createFleet(test, 'slots-engine');
    const study = await fleetStudy(test, team, {
      name: 'wide',
      budget: { maxEvaluations: 100, maxParallelTrials: 60, leaseSeconds: 600 },
    });
    const hoarder = await newRunner(test, team.runnerKey, { name: 'hoarder', maxConcurrentTrials: 2 });
    const answers = await Promise.all(Array.from({ length: 50 }, () => lease(test, hoarder, study)));
    assert.deepEqual(statuses(answers), { 200: 2, 409: 48 });
    const granted = answers.filter((answer) => answer.status === 200).map((answer) => String(answer.body.trial.id));
    for (const refused of answers.filter((answer) => answer.status === 409)) {
      assert.equal(refused.body.statusCode, 409);
      assert.equal(refused.body.code, 'RUNNER_LEASE_LIMIT');
      assert.equal(refused.body.details.limit, 2);
      assert.equal(refused.body.details.held, 2);
      assert.deepEqual(refused.body.details.trialIds, [...granted].sort());
      assert.ok(Number(refused.headers['retry-after']) > 0);
    }
    // Only the two granted trials and their lease rows exist: no point was asked for the refused.
    assert.equal(await trialRows(study), 2);
    assert.equal(await leaseRows(study), 2);
    // A lease naming no study is refused the same way (every study is out of its reach).
    const anyStudy = await lease(test, hoarder);
    assert.equal(anyStudy.status, 409);
    assert.equal(anyStudy.body.code, 'RUNNER_LEASE_LIMIT');
    // The study stays leasable by the project's other runners: 10 at once, 10 leases.
    const others = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        newRunner(test, team.runnerKey, { name: `other-${i}`, maxConcurrentTrials: 1 }),
      ),
    );
    assert.deepEqual(statuses(await Promise.all(others.map((other) => lease(test, other, study)))), { 200: 10 });
    assert.equal(await trialRows(study), 12);
    // A finished trial frees a slot.
    expectStatus(await report(test, hoarder, granted[0], 'complete', { outputs: { loss: 1 } }), 200);
    expectStatus(await lease(test, hoarder, study), 200);
    assert.equal((await lease(test, hoarder, study)).status, 409);
  });

  it('pending trials: a runner at its slot limit takes none of them, another runner does', async () => {
    const team = await createFleet(test, 'slots-pending');
    const study = await fleetStudy(test, team, {
      name: 'queued',
      budget: { maxEvaluations: 20, maxParallelTrials: 20, leaseSeconds: 600 },
    });
    for (const x of [1, 2, 3, 4]) {
      expectStatus(
        await test.http
          .post(`/v1/studies/${study}/trials`)
          .set(...auth(team.userKey))
          .send({ parameters: { x, y: x } }),
        201,
      );
    }
    // Like a Python runner (one trial at a time): 1 slot, 20 leases at once (its own and a buggy loop's).
    const single = await newRunner(test, team.runnerKey, { name: 'single', maxConcurrentTrials: 1 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => lease(test, single, i % 2 ? study : undefined)),
    );
    assert.deepEqual(statuses(answers), { 200: 1, 409: 19 });
    assert.equal(answers.find((answer) => answer.status === 200)!.body.trial.origin, 'user');
    assert.equal(await trialRows(study), 4);
    assert.equal(await countRows(db, `trials WHERE study_id = $1 AND status = 'pending'`, [study]), 3);
    const other = await newRunner(test, team.runnerKey, { name: 'other', maxConcurrentTrials: 3 });
    const taken = await Promise.all([1, 2, 3, 4].map(() => lease(test, other, study)));
    assert.deepEqual(statuses(taken), { 200: 3, 409: 1 });
    assert.ok(taken.filter((answer) => answer.status === 200).every((answer) => answer.body.trial.origin === 'user'));
    assert.equal(await countRows(db, `trials WHERE study_id = $1 AND status = 'pending'`, [study]), 0);
  });

  it('a runner that lost track of its lease (restarted while training) is told which trials it holds and may release them', async () => {
    const team = await createFleet(test, 'slots-restart');
    await fleetStudy(test, team, { name: 'restart', budget: { maxEvaluations: 5 } });
    // The Python runner's registration: its GPUs, its smallest GPU's memory, labels, one trial at a time.
    const python = await newRunner(test, team.runnerKey, {
      name: 'gpu-host',
      gpus: 1,
      gpuMemoryMb: 81_920,
      labels: ['a100'],
      maxConcurrentTrials: 1,
    });
    const first = expectStatus(await lease(test, python), 200).body;
    expectStatus(await report(test, python, first.trial.id, 'heartbeat', { progress: 0.5 }), 200);
    // The process is killed and starts again with the same identity: its next lease is refused,
    // naming the orphaned trial, which it releases before asking again.
    const refused = await lease(test, python);
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body.details.trialIds, [first.trial.id]);
    expectStatus(await report(test, python, first.trial.id, 'release'), 200);
    const again = expectStatus(await lease(test, python), 200).body;
    expectStatus(await report(test, python, again.trial.id, 'complete', { outputs: { loss: 0.5 } }), 200);
    expectStatus(
      await test.http
        .post(`/v1/runners/${python.id}/heartbeat`)
        .set(...auth(python.token))
        .send({}),
      200,
    );
    expectStatus(await lease(test, python), 200);
  });

  it('300 concurrent registrations against maxRunners 5: exactly 5 × 201 and 295 × 409 PROJECT_QUOTA_EXCEEDED, nothing else written', async () => {
    const team = await createFleet(test, 'runner-flood', { maxRunners: 5 });
    const project = expectStatus(await test.http.get('/v1/projects').set(...auth(team.userKey)), 200).body.items[0];
    assert.equal(project.maxRunners, 5);
    assert.equal(project.runners, 0);
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => postRunner(test, team.runnerKey, { name: `flood-${i}` })),
    );
    assert.deepEqual(statuses(answers), { 201: 5, 409: 295 });
    for (const refused of answers.filter((answer) => answer.status === 409)) {
      assert.equal(refused.body.statusCode, 409);
      assert.equal(refused.body.code, 'PROJECT_QUOTA_EXCEEDED');
      assert.equal(refused.body.details.quota, 'maxRunners');
      assert.equal(refused.body.details.limit, 5);
      assert.equal(refused.body.details.current, 5);
      assert.match(refused.body.message as string, /maxRunners/);
    }
    assert.equal(await countRows(db, 'runners WHERE project_id = $1', [team.projectId]), 5);
    assert.equal(
      await countRows(db, 'api_keys WHERE runner_id IS NOT NULL AND project_id = $1', [team.projectId]),
      5,
      'one token per runner registered',
    );
    const usage = expectStatus(await test.http.get('/v1/projects').set(...auth(team.userKey)), 200).body.items[0];
    assert.equal(usage.runners, 5);
    // A registered runner registering again with its token is not a new runner.
    const token = String(answers.find((answer) => answer.status === 201)!.body.token);
    expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(token))
        .send({ name: 'restarted' }),
      201,
    );
    // An admin raises the quota: one more place.
    const raised = expectStatus(
      await test.http
        .patch(`/v1/projects/${team.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxRunners: 6 }),
      200,
    ).body;
    assert.equal(raised.maxRunners, 6);
    assert.deepEqual(
      statuses(await Promise.all([1, 2, 3].map((i) => postRunner(test, team.runnerKey, { name: `more-${i}` })))),
      { 201: 1, 409: 2 },
    );
    for (const bad of [0, null, 1.5]) {
      const refused = await test.http
        .patch(`/v1/projects/${team.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxRunners: bad });
      assert.equal(refused.status, 400, `maxRunners ${JSON.stringify(bad)}`);
    }
  });

  it('at the quota a registration reclaims a stale runner without a lease (its token then gets 401), never one holding a lease', async () => {
    const team = await createFleet(test, 'runner-reclaim', { maxRunners: 2 });
    const study = await fleetStudy(test, team, { name: 'reclaim', budget: { maxEvaluations: 10 } });
    const holder = await newRunner(test, team.runnerKey, { name: 'holder', maxConcurrentTrials: 1 });
    const idle = await newRunner(test, team.runnerKey, { name: 'idle', maxConcurrentTrials: 1 });
    const held = expectStatus(await lease(test, holder, study), 200).body.trial.id as string;
    // The idle runner ran a trial before: its result stays when the runner goes.
    const ran = expectStatus(await lease(test, idle, study), 200).body.trial.id as string;
    expectStatus(await report(test, idle, ran, 'complete', { outputs: { loss: 2 } }), 200);
    // Its token is used (and so trusted by this process's authentication cache) just before.
    expectStatus(
      await test.http
        .post(`/v1/runners/${idle.id}/heartbeat`)
        .set(...auth(idle.token))
        .send({}),
      200,
    );
    // Not heard from for 16 minutes: neither seen nor ending a lease (a report) since.
    const stale = async (runnerId: string) => {
      await db.query(`UPDATE runners SET last_seen_at = now() - interval '16 minutes' WHERE id = $1`, [runnerId]);
      await db.query(
        `UPDATE trial_leases SET ended_at = now() - interval '16 minutes' WHERE runner_id = $1 AND ended_at IS NOT NULL`,
        [runnerId],
      );
    };
    // Both unseen for 16 minutes; only the idle one holds no lease.
    await stale(holder.id);
    await stale(idle.id);
    const newcomer = await newRunner(test, team.runnerKey, { name: 'newcomer' });
    assert.equal(await countRows(db, 'runners WHERE id = $1', [idle.id]), 0, 'the idle stale runner is reclaimed');
    assert.equal(await countRows(db, 'api_keys WHERE runner_id = $1', [idle.id]), 0, 'its token with it');
    for (const call of [
      test.http
        .post(`/v1/runners/${idle.id}/heartbeat`)
        .set(...auth(idle.token))
        .send({}),
      test.http
        .post(`/v1/runners/${idle.id}/lease`)
        .set(...auth(idle.token))
        .send({}),
    ]) {
      const answer = await call;
      assert.equal(answer.status, 401);
      assert.equal(answer.body.code, 'UNAUTHENTICATED');
    }
    const kept = expectStatus(await test.http.get(`/v1/trials/${ran}`).set(...auth(team.userKey)), 200).body;
    assert.equal(kept.status, 'completed');
    assert.equal(kept.runnerId, null);
    // The holder is stale too, but holds a lease: never reclaimed. The newcomer is fresh: 409,
    // nothing written.
    const runnersBefore = await countRows(db, 'runners WHERE project_id = $1', [team.projectId]);
    const refused = await postRunner(test, team.runnerKey, { name: 'late' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'PROJECT_QUOTA_EXCEEDED');
    assert.equal(refused.body.details.quota, 'maxRunners');
    assert.equal(await countRows(db, 'runners WHERE project_id = $1', [team.projectId]), runnersBefore);
    assert.equal(await countRows(db, 'runners WHERE id = $1', [holder.id]), 1);
    // The holder's lease and token still work; once it holds none, it is reclaimable.
    expectStatus(await report(test, holder, held, 'complete', { outputs: { loss: 1 } }), 200);
    await stale(holder.id);
    expectStatus(await postRunner(test, team.runnerKey, { name: 'late' }), 201);
    assert.equal(await countRows(db, 'runners WHERE id = $1', [holder.id]), 0);
    const gone = await lease(test, holder);
    assert.equal(gone.status, 401);
    assert.ok(await countRows(db, 'runners WHERE id = $1', [newcomer.id]));
  });

  it('concurrent registrations at the quota reclaim each stale runner once: exactly as many 201 as runners reclaimable', async () => {
    const team = await createFleet(test, 'runner-reclaim-race', { maxRunners: 4 });
    const old = await Promise.all([0, 1, 2, 3].map((i) => newRunner(test, team.runnerKey, { name: `old-${i}` })));
    // Three of the four were not seen for an hour; one was.
    await db.query(`UPDATE runners SET last_seen_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])`, [
      old.slice(0, 3).map((r) => r.id),
    ]);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => postRunner(test, team.runnerKey, { name: `new-${i}` })),
    );
    assert.deepEqual(statuses(answers), { 201: 3, 409: 37 });
    assert.equal(await countRows(db, 'runners WHERE project_id = $1', [team.projectId]), 4);
    assert.equal(await countRows(db, 'runners WHERE id = $1', [old[3].id]), 1);
  });
});
