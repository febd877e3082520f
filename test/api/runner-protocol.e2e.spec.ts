import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import {
  auth,
  createKey,
  createStudy,
  enqueuePoint,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  type TestRunner,
  report,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

describe('runner protocol', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;
  let runnerA: TestRunner;
  let runnerB: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
    runnerA = await registerRunner(test, runnerKey, 'runner-a');
    runnerB = await registerRunner(test, runnerKey, 'runner-b');
  });
  after(async () => test.close());

  const expireLeases = async (studyId: string): Promise<void> => {
    await test.server.app
      .get(LeaseSweeper)
      .sweep(new Date(Date.now() + 3_600_000))
      .then((handled) => assert.ok(handled >= 0, studyId));
  };

  it('leases a trial with its parameters and trainingConfig, then takes heartbeats and the result', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ trainingConfig: { model: 'tiny' } }));
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    assert.equal(leased.trial.status, 'running');
    assert.equal(leased.trial.origin, 'x0');
    assert.deepEqual(leased.trial.parameters, { x: 2, y: 3 });
    assert.deepEqual(leased.trainingConfig, { model: 'tiny' });
    assert.deepEqual(leased.outputs, [{ name: 'loss', type: 'objective', goal: 'minimize' }]);
    const trialPath = `/v1/trials/${String(leased.trial.id)}`;
    const beat = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'heartbeat', {
        progress: 0.5,
        metrics: [{ name: 'eval_loss', step: 10, value: 1.5 }],
      }),
      200,
    ).body;
    assert.equal(beat.shouldStop, false);
    assert.ok(Date.parse(beat.leaseExpiresAt) >= Date.parse(leased.leaseExpiresAt));
    const done = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 13 } }),
      200,
    ).body;
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.outputs, { loss: 13 });
    const fetched = expectStatus(await test.http.get(trialPath).set(...auth(userKey)), 200).body;
    assert.deepEqual(fetched.metrics, [{ name: 'eval_loss', step: 10, value: 1.5 }]);
    const refreshed = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(refreshed.evaluationCount, 1);
  });

  it('answers 204 with Retry-After when there is nothing to lease, and names a finished study', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 1 } }));
    const first = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    const busy = expectStatus(await lease(test, runnerB, String(study.id)), 204);
    assert.ok(Number(busy.headers['retry-after']) > 0);
    assert.equal(busy.headers['meshtune-study-status'], 'active');
    expectStatus(await report(test, runnerA, String(first.trial.id), 'complete', { outputs: { loss: 1 } }), 200);
    const finished = expectStatus(await lease(test, runnerB, String(study.id)), 204);
    assert.equal(finished.headers['meshtune-study-status'], 'completed');
    const body = expectStatus(await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)), 200).body;
    assert.equal(body.status, 'completed');
    assert.equal(body.stopReason, 'max_evaluations');
  });

  it('makes reports idempotent: the same payload gets the same answer, a different one 409', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    const first = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 2 } }),
      200,
    ).body;
    const again = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 2 } }),
      200,
    ).body;
    assert.deepEqual(again, first);
    const conflict = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 3 } }),
      409,
    ).body;
    assert.equal(conflict.code, 'TRIAL_ALREADY_FINISHED');
    const failAfter = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'fail', { error: 'oops' }),
      409,
    ).body;
    assert.equal(failAfter.code, 'TRIAL_ALREADY_FINISHED');
    const counted = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(counted.evaluationCount, 1);
  });

  it('rejects outputs that miss the objective or name unknown outputs, writing nothing', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    const path = `/v1/trials/${String(leased.trial.id)}`;
    const missing = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: {} }),
      400,
    ).body;
    assert.deepEqual(missing.details, [{ field: 'outputs.loss', reason: 'is required (objective)' }]);
    const unknown = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 1, accuracy: 2 } }),
      400,
    ).body;
    assert.equal(unknown.details[0].field, 'outputs.accuracy');
    const nonFinite = await test.http
      .post(`${path}/complete`)
      .set(...auth(runnerA.token))
      .set('Content-Type', 'application/json')
      .send('{"outputs":{"loss":"NaN"}}');
    expectStatus(nonFinite, 400);
    const trial = expectStatus(await test.http.get(path).set(...auth(userKey)), 200).body;
    assert.equal(trial.status, 'running');
  });

  it('requeues a trial whose lease expired (attempt + 1), then fails it after max attempts', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, maxAttempts: 2 } }));
    const studyId = String(study.id);
    const first = expectStatus(await lease(test, runnerA, studyId), 200).body;
    await expireLeases(studyId);
    const requeued = expectStatus(
      await test.http.get(`/v1/trials/${String(first.trial.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(requeued.status, 'pending');
    assert.equal(requeued.attempt, 2);
    const second = expectStatus(await lease(test, runnerB, studyId), 200).body;
    assert.equal(second.trial.id, first.trial.id, 'the requeued trial is leased before any new point');
    // The first runner's late report is refused with its own code: the trial went to runner B.
    const late = expectStatus(
      await report(test, runnerA, String(first.trial.id), 'complete', { outputs: { loss: 1 } }),
      409,
    ).body;
    assert.equal(late.code, 'LEASE_LOST');
    const lateBeat = expectStatus(await report(test, runnerA, String(first.trial.id), 'heartbeat', {}), 409).body;
    assert.equal(lateBeat.code, 'LEASE_LOST');
    await expireLeases(studyId);
    const failed = expectStatus(
      await test.http.get(`/v1/trials/${String(first.trial.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /lease expired 2 time/);
    const counted = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
    assert.equal(counted.evaluationCount, 1, 'a trial failed after its last attempt is one (failed) evaluation');
  });

  it('accepts the result of an expired lease that nobody took over, rather than losing it', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, maxAttempts: 3 } }));
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    await expireLeases(String(study.id));
    const done = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 4 } }),
      200,
    ).body;
    assert.equal(done.status, 'completed');
  });

  it('retries a retryable failure and records a plain failure as a failed evaluation', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, maxAttempts: 3 } }));
    const studyId = String(study.id);
    const leased = expectStatus(await lease(test, runnerA, studyId), 200).body;
    const retried = expectStatus(
      await report(test, runnerA, String(leased.trial.id), 'fail', { error: 'node preempted', retryable: true }),
      200,
    ).body;
    assert.equal(retried.status, 'pending');
    const again = expectStatus(await lease(test, runnerB, studyId), 200).body;
    assert.equal(again.trial.id, leased.trial.id);
    const failed = expectStatus(
      await report(test, runnerB, String(leased.trial.id), 'fail', { error: 'CUDA out of memory' }),
      200,
    ).body;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'CUDA out of memory');
    const repeat = expectStatus(
      await report(test, runnerB, String(leased.trial.id), 'fail', { error: 'CUDA out of memory' }),
      200,
    ).body;
    assert.deepEqual(repeat, failed);
  });

  it('releases a trial back to the queue without counting an evaluation', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    const released = expectStatus(
      await test.http.post(`/v1/trials/${String(leased.trial.id)}/release`).set(...auth(runnerA.token)),
      200,
    ).body;
    assert.equal(released.status, 'pending');
    const next = expectStatus(await lease(test, runnerB, String(study.id)), 200).body;
    assert.equal(next.trial.id, leased.trial.id);
  });

  it('tells running trials to stop once the study is paused', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    expectStatus(await test.http.post(`/v1/studies/${String(study.id)}/pause`).set(...auth(userKey)), 200);
    const beat = expectStatus(await report(test, runnerA, String(leased.trial.id), 'heartbeat', {}), 200).body;
    assert.deepEqual([beat.shouldStop, beat.reason], [true, 'study_paused']);
    expectStatus(await lease(test, runnerB, String(study.id)), 204);
  });

  it('leases user-enqueued points first and refuses a point twice', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const path = `/v1/studies/${String(study.id)}/trials`;
    const enqueued = expectStatus(await enqueuePoint(test, userKey, String(study.id), { x: -1.5, y: 4 }), 201).body;
    assert.equal(enqueued.origin, 'user');
    const duplicate = expectStatus(await enqueuePoint(test, userKey, String(study.id), { x: -1.5, y: 4 }), 409).body;
    assert.equal(duplicate.code, 'DUPLICATE_POINT');
    const outside = expectStatus(await enqueuePoint(test, userKey, String(study.id), { x: 9, y: 4 }), 400).body;
    assert.equal(outside.details[0].field, 'parameters.x');
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    assert.equal(leased.trial.id, enqueued.id);
    const list = expectStatus(await test.http.get(`${path}?status=running`).set(...auth(userKey)), 200).body;
    assert.deepEqual(
      list.items.map((trial: { id: string }) => trial.id),
      [enqueued.id],
    );
  });

  it('refuses a user point the budget has no room for (409 BUDGET_EXHAUSTED), and writes nothing', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 3 }, x0: [] }));
    const path = `/v1/studies/${String(study.id)}/trials`;
    const enqueue = async (x: number) => enqueuePoint(test, userKey, String(study.id), { x, y: 1 });
    for (const x of [-1, 0, 1]) expectStatus(await enqueue(x), 201);
    // Three pending points take the whole budget: a fourth could only ever sit pending.
    const refused = expectStatus(await enqueue(2), 409).body;
    assert.equal(refused.code, 'BUDGET_EXHAUSTED');
    assert.deepEqual(refused.details, { maxEvaluations: 3, evaluations: 0, unsettled: 3 });
    const listed = expectStatus(await test.http.get(path).set(...auth(userKey)), 200).body;
    assert.equal(listed.items.length, 3);
    // A finished evaluation still holds its share: room comes back only if none is used.
    const leased = expectStatus(await lease(test, runnerA, String(study.id)), 200).body;
    expectStatus(await report(test, runnerA, String(leased.trial.id), 'complete', { outputs: { loss: 1 } }), 200);
    assert.equal(expectStatus(await enqueue(2), 409).body.code, 'BUDGET_EXHAUSTED');
  });

  it('never hands one trial to two of 50 concurrent leasers', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 40 }, x0: [] }));
    const runners = await Promise.all(
      Array.from({ length: 50 }, (_, index) => registerRunner(test, runnerKey, `concurrent-${index}`)),
    );
    const responses = await Promise.all(runners.map((runner) => lease(test, runner, String(study.id))));
    const leased = responses
      .filter((response) => response.status === 200)
      .map((response) => response.body.trial.id as string);
    assert.ok(responses.every((response) => response.status === 200 || response.status === 204));
    assert.equal(leased.length, 40, 'the budget allows exactly 40 trials in flight');
    assert.equal(new Set(leased).size, leased.length, 'no trial leased twice');
    const points = responses
      .filter((response) => response.status === 200)
      .map((response) => JSON.stringify(response.body.trial.point));
    assert.equal(new Set(points).size, points.length, 'no point suggested twice');
  });
});
