import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Issue 13: the engine may suggest any point of the box, also one where a derived parameter is not
 * a number (1 / (x − 1) at x = 1, inside the box where creation's probes do not look). No runner may receive such a point (it would get a null parameter);
 * it is a failed evaluation, counted in the budget and told to the engine, for every algorithm.
 */
describe('points where a derived parameter is not finite', () => {
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'));
  });
  after(async () => test.close());

  for (const algorithm of [
    { name: 'mads', seed: 3 },
    { name: 'random', seed: 5 },
  ]) {
    it(`${algorithm.name}: never leased, failed with the reason, budget exact, study ends`, async () => {
      const maxEvaluations = 30;
      const study = await createStudy(test, userKey, {
        name: `singular derived (${algorithm.name})`,
        parameters: [
          { name: 'x', type: 'integer', lower: -3, upper: 3 },
          { name: 'y', type: 'integer', lower: -3, upper: 3 },
        ],
        // Finite where study creation probes (centre, bounds, corners, X0); infinite at x = 1.
        derived: [{ name: 'inverse', expression: '1 / (x - 1)' }],
        outputs: [{ name: 'loss', type: 'objective' }],
        x0: [{ x: 2, y: 1 }],
        budget: { maxEvaluations, maxAttempts: 2, leaseSeconds: 60 },
        algorithm,
      });
      const studyId = String(study.id);
      let leased = 0;
      for (let round = 0; round < 4 * maxEvaluations; round++) {
        const response = await lease(test, runner, studyId);
        if (response.status === 204) break;
        const { trial } = expectStatus(response, 200).body;
        leased++;
        const { x, y, inverse } = trial.parameters as Record<string, number>;
        assert.ok(Number.isFinite(inverse), `trial ${trial.number} leased with inverse = ${String(inverse)}`);
        assert.ok(Math.abs(inverse - 1 / (x - 1)) < 1e-12, `inverse = ${inverse} at x = ${x}`);
        expectStatus(
          await report(test, runner, String(trial.id), 'complete', { outputs: { loss: (x - 1) ** 2 + y * y } }),
          200,
        );
      }
      const final = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
      const trials = expectStatus(
        await test.http.get(`/v1/studies/${studyId}/trials?limit=100`).set(...auth(userKey)),
        200,
      ).body.items as { status: string; parameters: Record<string, unknown>; error: string | null }[];
      const unrunnable = trials.filter((trial) => trial.status === 'failed');
      assert.ok(unrunnable.length > 0, 'the engine never suggested x = 1: the test proves nothing');
      for (const trial of unrunnable) {
        assert.equal(trial.parameters.x, 1);
        assert.match(trial.error ?? '', /derived parameter inverse is (Infinity|-Infinity|NaN)/);
      }
      assert.equal(final.evaluationCount, leased + unrunnable.length);
      assert.equal(final.failedEvaluationCount, unrunnable.length);
      assert.ok(final.evaluationCount <= maxEvaluations);
      assert.notEqual(final.status, 'active', JSON.stringify(final));
    });
  }
});
