import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_CATEGORICAL_POLL_VALUES } from '../../api/src/mads/options-validation';
import { STUDY_LIMITS } from '../../api/src/studies/study-limits';
import { auth, createKey, createStudy, expectStatus } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a legal-looking study definition whose engine work is unbounded (docs/reliability.md,
 * finding 16). Every MADS poll tries each other category of every categorical parameter, each
 * as a point of all the study's variables; 200 categorical parameters of 100 values made 19,800
 * points of 200 numbers a poll: 2.7–3.4 s of CPU in one engine call and an 8.5 MB engine state,
 * and the engine thread is shared, so another project's leases waited up to 7.9 s. Such a
 * definition is refused as it is created, at `parameters`; random search, which polls nothing,
 * still takes it.
 */
function categoricalStudy(parameters: number, values: number, algorithm: 'mads' | 'random'): Record<string, unknown> {
  return {
    name: `categorical ${parameters}x${values}`,
    parameters: Array.from({ length: parameters }, (_, i) => ({
      name: `c${i}`,
      type: 'categorical',
      values: Array.from({ length: values }, (_, v) => `v${v}`),
    })),
    outputs: [{ name: 'loss', type: 'objective' }],
    budget: { maxEvaluations: 1000, maxAttempts: 1, leaseSeconds: 600 },
    algorithm: { name: algorithm, seed: 1 },
  };
}

describe('engine cost of legal study definitions', () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(async () => test.close());

  const studyCount = async (): Promise<number> =>
    expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total as number;

  it('a MADS study whose categorical polls pass the bound is a 400 naming parameters, and writes nothing', async () => {
    // The API's own limits allow each of these; only their product is too much for one poll.
    const shapes: [number, number][] = [
      [STUDY_LIMITS.parameters, STUDY_LIMITS.values],
      [STUDY_LIMITS.parameters, 3],
      [50, 22],
    ];
    for (const [parameters, values] of shapes) {
      assert.ok(parameters * (values - 1) * parameters > MAX_CATEGORICAL_POLL_VALUES);
      const before = await studyCount();
      const response = await test.http
        .post('/v1/studies')
        .set(...auth(userKey))
        .send(categoricalStudy(parameters, values, 'mads'));
      assert.equal(response.status, 400, `${parameters}×${values}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'VALIDATION_FAILED');
      const details = response.body.details as { field: string; reason: string }[];
      assert.ok(
        details.some((detail) => detail.field === 'parameters' && detail.reason.includes('categor')),
        `${parameters}×${values}: ${JSON.stringify(details)}`,
      );
      assert.equal(await studyCount(), before);
    }
  });

  it('the largest categorical MADS studies within the bound, and random search at any size, are accepted and lease', async () => {
    // 200 binary categoricals (200 × 1 × 200 = 40,000) and 22 of 100 values (22 × 99 × 22 = 47,916).
    const runnerKey = await createKey(test, 'runner');
    const runner = expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(runnerKey))
        .send({ name: 'r', gpus: 1, gpuMemoryMb: 81920 }),
      201,
    ).body as { id: string; token: string };
    for (const [parameters, values, algorithm] of [
      [STUDY_LIMITS.parameters, 2, 'mads'],
      [22, STUDY_LIMITS.values, 'mads'],
      [STUDY_LIMITS.parameters, STUDY_LIMITS.values, 'random'],
    ] as const) {
      const study = await createStudy(test, userKey, categoricalStudy(parameters, values, algorithm));
      for (let trial = 0; trial < 3; trial++) {
        const leased = expectStatus(
          await test.http
            .post(`/v1/runners/${runner.id}/lease`)
            .set(...auth(runner.token))
            .send({ studyId: study.id }),
          200,
        ).body as { trial: { id: string; parameters: Record<string, string> } };
        assert.equal(Object.keys(leased.trial.parameters).length, parameters);
        expectStatus(
          await test.http
            .post(`/v1/trials/${leased.trial.id}/complete`)
            .set(...auth(runner.token))
            .send({ outputs: { loss: trial } }),
          200,
        );
      }
    }
  });
});
