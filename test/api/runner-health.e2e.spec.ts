import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const QUARANTINE_AFTER = 3;
const QUARANTINE_AFTER_EVALUATION_FAILURES = 4;
const WINDOW_SECONDS = 600;
const MISSING_DATA = "FileNotFoundError: [Errno 2] No such file or directory: '/data/instructions/train.json'";

function quadratic(parameters: Record<string, unknown>): number {
  return (Number(parameters.x) - 1) ** 2 + (Number(parameters.y) + 2) ** 2;
}

describe('runner failures and quarantine', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;

  before(async () => {
    test = await startTestServer({
      quarantineAfterFailures: QUARANTINE_AFTER,
      quarantineAfterEvaluationFailures: QUARANTINE_AFTER_EVALUATION_FAILURES,
      quarantineWindowSeconds: WINDOW_SECONDS,
    });
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  const getStudy = async (studyId: string) =>
    expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
  const getTrial = async (trialId: string) =>
    expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body;
  const getRunner = async (runnerId: string) => {
    const { items } = expectStatus(await test.http.get('/v1/runners?limit=200').set(...auth(userKey)), 200).body as {
      items: Record<string, unknown>[];
    };
    const runner = items.find((item) => item.id === runnerId);
    assert.ok(runner !== undefined, `runner ${runnerId} is listed`);
    return runner;
  };
  const runnerFailure = (runner: TestRunner, trialId: string, error = MISSING_DATA) =>
    report(test, runner, trialId, 'fail', { error, kind: 'runner' });
  const metric = async (name: string): Promise<number> => {
    const text = expectStatus(await test.http.get('/metrics'), 200).text;
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    assert.ok(line !== undefined, `${name} is exported`);
    return Number(line.split(' ')[1]);
  };

  it('quarantines a runner after N runner failures while a healthy runner finishes the whole budget', async () => {
    const maxEvaluations = 10;
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        name: 'broken and healthy runners',
        budget: { maxEvaluations, maxParallelTrials: 2, maxAttempts: 1, leaseSeconds: 60 },
        // Random search suggests a second point while X0 is out (MADS would wait for X0's result).
        algorithm: { name: 'random', seed: 5 },
      }),
    );
    const studyId = String(study.id);
    const broken = await registerRunner(test, runnerKey, 'no-data');
    const healthy = await registerRunner(test, runnerKey, 'gpu-ok');
    const failuresBefore = await metric('meshtune_runner_failures_total');

    // The broken runner takes X0 and fails it as a runner failure: back to pending, budget untouched.
    const x0 = expectStatus(await lease(test, broken, studyId), 200).body.trial;
    const first = expectStatus(await runnerFailure(broken, String(x0.id)), 200).body;
    assert.equal(first.status, 'pending');
    assert.equal(first.runnerFailures, 1);
    assert.equal(first.error, MISSING_DATA);
    assert.equal((await getStudy(studyId)).evaluationCount, 0);
    assert.equal((await getRunner(broken.id)).health, 'unhealthy');

    // It leases X0 again (pending first) plus a second trial, so it holds a lease when quarantined.
    const again = expectStatus(await lease(test, broken, studyId), 200).body.trial;
    assert.equal(again.id, x0.id, 'the requeued trial is leased before any new point');
    assert.equal(again.attempt, 2);
    expectStatus(await runnerFailure(broken, String(x0.id)), 200);
    const third = expectStatus(await lease(test, broken, studyId), 200).body.trial;
    assert.equal(third.id, x0.id);
    const held = expectStatus(await lease(test, broken, studyId), 200).body.trial;
    assert.notEqual(held.id, x0.id);
    const last = expectStatus(await runnerFailure(broken, String(x0.id)), 200).body;
    assert.equal(last.status, 'pending');
    assert.equal(last.runnerFailures, 3);

    // Quarantined: no lease, a clear code with the reason, and its other lease is back to pending.
    const refused = expectStatus(await lease(test, broken, studyId), 409);
    assert.equal(refused.body.code, 'RUNNER_QUARANTINED');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.match(String(refused.body.details.reason), /3 runner failures in a row.*train\.json/);
    assert.equal(typeof refused.body.details.quarantinedAt, 'string');
    const anyStudy = expectStatus(await lease(test, broken), 409);
    assert.equal(anyStudy.body.code, 'RUNNER_QUARANTINED');
    const released = await getTrial(String(held.id));
    assert.equal(released.status, 'pending');
    assert.equal(released.runnerId, null);
    assert.equal(released.runnerFailures, 0);
    const lateBeat = expectStatus(await report(test, broken, String(held.id), 'heartbeat', {}), 409);
    assert.equal(lateBeat.body.code, 'LEASE_LOST');
    const listed = await getRunner(broken.id);
    assert.equal(listed.health, 'quarantined');
    assert.equal(listed.failureStreak, 3);
    assert.equal(listed.lastFailure, MISSING_DATA);
    assert.equal(typeof listed.quarantinedAt, 'string');
    assert.match(String(listed.quarantineReason), /train\.json/);
    assert.equal((await getRunner(healthy.id)).health, 'healthy');
    assert.equal(await metric('meshtune_runner_failures_total'), failuresBefore + 3);
    assert.equal(await metric('meshtune_runner_quarantines_total'), 1);
    assert.equal(await metric('meshtune_runners{health="quarantined"}'), 1);
    assert.equal((await getStudy(studyId)).evaluationCount, 0, 'runner failures spent none of the budget');

    // The healthy runner evaluates every point of the budget, the requeued ones included.
    let evaluated = 0;
    for (let round = 0; round < 100; round += 1) {
      const leased = await lease(test, healthy, studyId);
      if (leased.status === 204) {
        assert.equal(leased.headers['meshtune-study-status'], 'completed');
        break;
      }
      const trial = expectStatus(leased, 200).body.trial;
      expectStatus(
        await report(test, healthy, String(trial.id), 'complete', { outputs: { loss: quadratic(trial.parameters) } }),
        200,
      );
      evaluated += 1;
    }
    const finished = await getStudy(studyId);
    assert.equal(finished.status, 'completed');
    assert.equal(finished.stopReason, 'max_evaluations');
    assert.equal(finished.evaluationCount, maxEvaluations);
    assert.equal(evaluated, maxEvaluations);
    assert.equal(finished.trialCounts.completed, maxEvaluations);
    assert.equal(finished.trialCounts.failed, 0);
    assert.equal(finished.failedEvaluationCount, 0);
    assert.equal(finished.evaluationsMostlyFailed, false);
    const x0Final = await getTrial(String(x0.id));
    assert.equal(x0Final.status, 'completed');
    assert.equal(x0Final.runnerId, healthy.id);
    assert.equal(x0Final.runnerFailures, 3, 'the failures on the broken machine stay on record');
    assert.equal((await getTrial(String(held.id))).status, 'completed');

    // An operator clears the quarantine: the runner may lease again (the study is over: 204).
    const cleared = expectStatus(
      await test.http.post(`/v1/runners/${broken.id}/clear-quarantine`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(cleared.health, 'healthy');
    assert.equal(cleared.quarantinedAt, null);
    assert.equal(cleared.failureStreak, 0);
    expectStatus(await lease(test, broken, studyId), 204);
    assert.equal(await metric('meshtune_runners{health="quarantined"}'), 0);
  });

  it('runner failures use neither an attempt nor the budget; a completed trial heals the runner', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ budget: { maxEvaluations: 3, maxAttempts: 1, leaseSeconds: 60 } }),
    );
    const studyId = String(study.id);
    const runner = await registerRunner(test, runnerKey, 'flaky-mount');
    for (let failure = 1; failure < QUARANTINE_AFTER; failure += 1) {
      const trial = expectStatus(await lease(test, runner, studyId), 200).body.trial;
      assert.equal(trial.attempt, failure, 'maxAttempts 1 and the trial is still leased');
      const answer = expectStatus(await runnerFailure(runner, String(trial.id), 'CUDA unavailable'), 200).body;
      // The same report again (its answer lost): the same answer, counted once.
      const repeated = expectStatus(await runnerFailure(runner, String(trial.id), 'CUDA unavailable'), 200).body;
      assert.deepEqual(repeated, answer);
    }
    const before = await getRunner(runner.id);
    assert.equal(before.health, 'unhealthy');
    assert.equal(before.failureStreak, QUARANTINE_AFTER - 1);
    assert.equal((await getStudy(studyId)).evaluationCount, 0);
    assert.equal((await getStudy(studyId)).trialCounts.failed, 0);

    const trial = expectStatus(await lease(test, runner, studyId), 200).body.trial;
    assert.equal(trial.runnerFailures, QUARANTINE_AFTER - 1);
    expectStatus(await report(test, runner, String(trial.id), 'complete', { outputs: { loss: 1 } }), 200);
    const healed = await getRunner(runner.id);
    assert.equal(healed.health, 'healthy');
    assert.equal(healed.failureStreak, 0);
    assert.equal((await getStudy(studyId)).evaluationCount, 1);
  });

  it('counts a streak only within the window', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5 } }));
    const studyId = String(study.id);
    const runner = await registerRunner(test, runnerKey, 'slow-failures');
    const failOnce = async (): Promise<void> => {
      const trial = expectStatus(await lease(test, runner, studyId), 200).body.trial;
      expectStatus(await runnerFailure(runner, String(trial.id), 'No space left on device'), 200);
    };
    for (let failure = 1; failure < QUARANTINE_AFTER; failure += 1) await failOnce();
    // The streak began longer ago than the window: the next failure starts a new one.
    await test
      .get(DataSource)
      .query(`UPDATE runners SET failure_streak_started_at = now() - make_interval(secs => $2) WHERE id = $1`, [
        runner.id,
        WINDOW_SECONDS + 60,
      ]);
    await failOnce();
    const listed = await getRunner(runner.id);
    assert.equal(listed.health, 'unhealthy');
    assert.equal(listed.failureStreak, 1);
    expectStatus(await lease(test, runner, studyId), 200);
  });

  it('registering again with the runner token clears a quarantine', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5 } }));
    const studyId = String(study.id);
    const runner = await registerRunner(test, runnerKey, 'fixed-later');
    for (let failure = 0; failure < QUARANTINE_AFTER; failure += 1) {
      const trial = expectStatus(await lease(test, runner, studyId), 200).body.trial;
      expectStatus(await runnerFailure(runner, String(trial.id), 'ImportError: libcudart.so.12'), 200);
    }
    assert.equal(expectStatus(await lease(test, runner, studyId), 409).body.code, 'RUNNER_QUARANTINED');
    const again = expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(runner.token))
        .send({ name: 'fixed-later', gpus: 1 }),
      201,
    ).body;
    assert.equal(again.id, runner.id);
    assert.equal(again.health, 'healthy');
    assert.equal(again.quarantinedAt, null);
    expectStatus(await lease(test, runner, studyId), 200);
  });

  it('quarantines a runner whose failed evaluations other runners do not reproduce, not one whose points fail everywhere', async () => {
    const studyBody = quadraticStudy({
      budget: { maxEvaluations: 40, maxParallelTrials: 2, leaseSeconds: 60 },
      algorithm: { name: 'random', seed: 11 },
    });
    // Every point fails, on whichever runner: the points' fault; nobody is quarantined.
    const hopeless = String((await createStudy(test, userKey, { ...studyBody, name: 'fails everywhere' })).id);
    const unlucky = await registerRunner(test, runnerKey, 'unlucky');
    for (let index = 0; index < QUARANTINE_AFTER_EVALUATION_FAILURES + 1; index += 1) {
      const trial = expectStatus(await lease(test, unlucky, hopeless), 200).body.trial;
      expectStatus(await report(test, unlucky, String(trial.id), 'fail', { error: 'CUDA out of memory' }), 200);
    }
    const notQuarantined = await getRunner(unlucky.id);
    assert.equal(notQuarantined.health, 'healthy');
    assert.equal(notQuarantined.evaluationFailureStreak, QUARANTINE_AFTER_EVALUATION_FAILURES + 1);

    // The same failures while another runner completes trials of the study: this machine's fault.
    const studyId = String((await createStudy(test, userKey, { ...studyBody, name: 'fails on one machine' })).id);
    const misreporting = await registerRunner(test, runnerKey, 'misreports-missing-data');
    const fine = await registerRunner(test, runnerKey, 'fine');
    for (let index = 0; index < QUARANTINE_AFTER_EVALUATION_FAILURES; index += 1) {
      const trial = expectStatus(await lease(test, misreporting, studyId), 200).body.trial;
      expectStatus(await report(test, misreporting, String(trial.id), 'fail', { error: 'train.json not found' }), 200);
      const good = expectStatus(await lease(test, fine, studyId), 200).body.trial;
      expectStatus(
        await report(test, fine, String(good.id), 'complete', { outputs: { loss: quadratic(good.parameters) } }),
        200,
      );
    }
    const refused = expectStatus(await lease(test, misreporting, studyId), 409).body;
    assert.equal(refused.code, 'RUNNER_QUARANTINED');
    assert.match(String(refused.details.reason), /4 failed evaluations in a row.*train\.json not found/);
    assert.equal((await getRunner(fine.id)).health, 'healthy');
    expectStatus(await lease(test, fine, studyId), 200);
  });

  it('refuses an unknown failure kind with a 400 naming the field, and changes nothing', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const runner = await registerRunner(test, runnerKey, 'typo');
    const trial = expectStatus(await lease(test, runner, String(study.id)), 200).body.trial;
    const refused = expectStatus(
      await report(test, runner, String(trial.id), 'fail', { error: 'x', kind: 'machine' }),
      400,
    ).body;
    assert.equal(refused.code, 'VALIDATION_FAILED');
    assert.ok(JSON.stringify(refused.details).includes('kind'));
    assert.equal((await getTrial(String(trial.id))).status, 'running');
  });

  it('a study whose X0 failed is failed (x0_failed), not completed, and takes nothing more', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ name: 'x0 fails', algorithm: { name: 'mads', seed: 1 } }),
    );
    const studyId = String(study.id);
    const runner = await registerRunner(test, runnerKey, 'x0');
    const trial = expectStatus(await lease(test, runner, studyId), 200).body.trial;
    expectStatus(
      await report(test, runner, String(trial.id), 'fail', { error: 'loss is NaN at this learning rate' }),
      200,
    );
    const failed = await getStudy(studyId);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.stopReason, 'x0_failed');
    assert.equal(failed.evaluationCount, 1);
    assert.equal(failed.failedEvaluationCount, 1);
    assert.equal(failed.evaluationsMostlyFailed, true);
    assert.equal(typeof failed.completedAt, 'string');
    const none = expectStatus(await lease(test, runner, studyId), 204);
    assert.equal(none.headers['meshtune-study-status'], 'failed');
    const enqueue = expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/trials`)
        .set(...auth(userKey))
        .send({ parameters: { x: 0, y: 0 } }),
      409,
    );
    assert.equal(enqueue.body.code, 'STUDY_FINISHED');
    const listed = expectStatus(await test.http.get('/v1/studies?status=failed').set(...auth(userKey)), 200).body;
    assert.ok(listed.items.some((item: { id: string }) => item.id === studyId));
  });

  it('says so when most evaluations failed', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ budget: { maxEvaluations: 4 }, algorithm: { name: 'random', seed: 2 } }),
    );
    const studyId = String(study.id);
    const runner = await registerRunner(test, runnerKey, 'mostly-failing');
    for (let index = 0; index < 4; index += 1) {
      const trial = expectStatus(await lease(test, runner, studyId), 200).body.trial;
      if (index === 0) {
        expectStatus(await report(test, runner, String(trial.id), 'complete', { outputs: { loss: 3 } }), 200);
      } else {
        expectStatus(await report(test, runner, String(trial.id), 'fail', { error: 'CUDA out of memory' }), 200);
      }
    }
    const finished = await getStudy(studyId);
    assert.equal(finished.status, 'completed');
    assert.equal(finished.evaluationCount, 4);
    assert.equal(finished.failedEvaluationCount, 3);
    assert.equal(finished.evaluationsMostlyFailed, true);
  });
});
