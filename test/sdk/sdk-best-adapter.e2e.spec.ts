import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, type MeshtuneClient } from '@meshtune/sdk';
import { createKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

describe('SDK bestAdapter against the real API', () => {
  let test: TestServer;
  let user: MeshtuneClient;
  let runnerKey: string;

  before(async () => {
    test = await startTestServer({ leaseRetryAfterSeconds: 1 });
    user = createClient({ baseUrl: test.url, apiKey: await createKey(test, 'user') });
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  it("returns the best trial's adapter location, null before any result and when the best kept none", async () => {
    const study = await user.createStudy({
      name: 'sdk best adapter',
      parameters: [{ name: 'x', type: 'real', lower: -5, upper: 5 }],
      outputs: [{ name: 'loss', type: 'objective' }],
      x0: [{ x: 1 }],
      budget: { maxEvaluations: 3, maxAttempts: 1, leaseSeconds: 30 },
      algorithm: { name: 'random', seed: 1 },
    });
    assert.equal(await user.bestAdapter(study.id), null);
    const registered = await createClient({ baseUrl: test.url, apiKey: runnerKey }).registerRunner({ name: 'sdk-r' });
    const runner = createClient({ baseUrl: test.url, apiKey: registered.token });
    const leaseOne = async () => {
      const leased = await runner.lease(registered.id, study.id);
      assert.equal(leased.kind, 'leased');
      return leased.kind === 'leased' ? leased.lease.trial.id : '';
    };
    // The best trial kept no adapter: null, not another trial's.
    const first = await leaseOne();
    await runner.completeTrial(first, { loss: 1 });
    assert.equal(await user.bestAdapter(study.id), null);
    const second = await leaseOne();
    const done = await runner.completeTrial(
      second,
      { loss: 3 },
      { adapter: { location: '/adapters/worse' }, effectiveConfig: { precision: 'bf16' } },
    );
    assert.deepEqual(done.adapter, { location: '/adapters/worse', sizeBytes: null });
    assert.equal(await user.bestAdapter(study.id), null, 'the best is still the first trial');
    const third = await leaseOne();
    await runner.completeTrial(third, { loss: 0.5 }, { adapter: { location: 's3://bucket/best', sizeBytes: 1024 } });
    assert.equal(await user.bestAdapter(study.id), 's3://bucket/best');
  });
});
