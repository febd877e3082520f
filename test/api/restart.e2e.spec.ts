import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

describe('restart', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer();
  });
  after(async () => test.close());

  it('keeps every study, trial, key and runner across an app restart', async () => {
    const userKey = await createKey(test, 'user');
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    const study = await createStudy(test, userKey, quadraticStudy());
    const leased = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    expectStatus(await report(test, runner, String(leased.trial.id), 'complete', { outputs: { loss: 5 } }), 200);
    const running = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    const before = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}/trials`).set(...auth(userKey)),
      200,
    ).body;

    await test.restart();

    const after = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}/trials`).set(...auth(userKey)),
      200,
    ).body;
    assert.deepEqual(after, before);
    const studyAfter = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(studyAfter.evaluationCount, 1);
    const done = expectStatus(
      await report(test, runner, String(running.trial.id), 'complete', { outputs: { loss: 6 } }),
      200,
    ).body;
    assert.equal(done.status, 'completed');
  });
});
