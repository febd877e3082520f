import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  registerRunner,
  type TestRunner,
  report,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const rosenbrock = (x: number, y: number): number => 100 * (y - x * x) ** 2 + (1 - x) ** 2;

const study = {
  name: 'restart equivalence',
  parameters: [
    { name: 'x', type: 'real', lower: -2, upper: 2 },
    { name: 'y', type: 'real', lower: -2, upper: 2 },
  ],
  outputs: [{ name: 'f', type: 'objective' }],
  x0: [{ x: -1.2, y: 1 }],
  budget: { maxEvaluations: 30 },
  algorithm: { name: 'mads', seed: 7 },
};

/** Evaluates `count` trials one at a time and returns their points. */
async function evaluate(test: TestServer, runner: TestRunner, studyId: string, count: number): Promise<number[][]> {
  const points: number[][] = [];
  for (let index = 0; index < count; index += 1) {
    const leased = expectStatus(await lease(test, runner, studyId), 200).body;
    const { x, y } = leased.trial.parameters as { x: number; y: number };
    points.push(leased.trial.point as number[]);
    expectStatus(
      await report(test, runner, String(leased.trial.id), 'complete', { outputs: { f: rosenbrock(x, y) } }),
      200,
    );
  }
  return points;
}

describe('restart equivalence', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer();
  });
  after(async () => test.close());

  it('continues after an API restart exactly as it would have without it (same seed ⇒ same suggestions)', async () => {
    const userKey = await createKey(test, 'user');
    const runnerKey = await createKey(test, 'runner');
    const reference = String((await createStudy(test, userKey, study)).id);
    const restarted = String((await createStudy(test, userKey, study)).id);

    const referenceRunner = await registerRunner(test, runnerKey, 'reference');
    const referencePoints = await evaluate(test, referenceRunner, reference, 30);

    const runner = await registerRunner(test, runnerKey, 'restarted');
    const firstHalf = await evaluate(test, runner, restarted, 13);
    await test.restart();
    const secondHalf = await evaluate(test, runner, restarted, 17);

    assert.deepEqual([...firstHalf, ...secondHalf], referencePoints);
    const finished = expectStatus(await test.http.get(`/v1/studies/${restarted}`).set(...auth(userKey)), 200).body;
    assert.equal(finished.evaluationCount, 30);
  });
});
