import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
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

/** MADS that cannot suggest anything while X0 is being evaluated (no idle filling). */
const waitingStudy = quadraticStudy({ algorithm: { name: 'mads', seed: 5, fillIdle: false } });

async function leaseX0(
  test: TestServer,
  userKey: string,
  runner: TestRunner,
): Promise<{ studyId: string; trialId: string }> {
  const studyId = String((await createStudy(test, userKey, waitingStudy)).id);
  const first = expectStatus(await lease(test, runner, studyId), 200).body;
  assert.equal(first.trial.origin, 'x0');
  return { studyId, trialId: String(first.trial.id) };
}

describe('a lease while the engine waits for results in flight', () => {
  let test: TestServer;
  let userKey: string;
  let first: TestRunner;
  let second: TestRunner;
  before(async () => {
    test = await startTestServer({ leaseWaitMs: 5000 });
    userKey = await createKey(test, 'user');
    const runnerKey = await createKey(test, 'runner');
    first = await registerRunner(test, runnerKey, 'first');
    second = await registerRunner(test, runnerKey, 'second');
  });
  after(async () => test.close());

  it('waits for the result and answers with the next point as soon as it is told', async () => {
    const { studyId, trialId } = await leaseX0(test, userKey, first);
    const started = Date.now();
    const waiting = lease(test, second, studyId);
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    expectStatus(await report(test, first, trialId, 'complete', { outputs: { loss: 13 } }), 200);
    const answer = expectStatus(await waiting, 200).body;
    const waited = Date.now() - started;
    assert.ok(waited >= 300 && waited < 4000, `answered after ${waited} ms`);
    assert.notEqual(answer.trial.origin, 'x0');
  });

  it('answers 204 once the wait is over when no result comes', async () => {
    const { studyId } = await leaseX0(test, userKey, first);
    const started = Date.now();
    const answer = await lease(test, second, studyId);
    assert.equal(answer.status, 204);
    assert.equal(answer.headers['meshtune-study-status'], 'active');
    assert.ok(Date.now() - started >= 4900, 'waited for MESHTUNE_LEASE_WAIT_MS');
  });
});
