import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  type TestRunner,
  report,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/** What a runner reports it trained with (python-runner/src/meshtune_runner/agent.py builds the real one). */
const effectiveConfig = {
  regimeHash: 'sha256:3f1c0d',
  gpuCount: 2,
  gpuType: 'NVIDIA A100-SXM4-80GB',
  precision: 'bf16',
  versions: { torch: '2.5.1', transformers: '5.0.0', peft: '0.14.0' },
};
const adapter = { location: 's3://adapters/study/trial-1', sizeBytes: 33_554_432 };

describe('result metadata: effective configuration and adapter on complete', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;
  let runner: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
    // 4 GPUs: the GPU-seconds reported below, at once after each lease, stay within what a runner may
    // claim (GPUs × (seconds since the lease × 1.1 + 60): docs/reliability.md, finding 47).
    runner = await registerRunner(test, runnerKey, 'runner-meta', { gpus: 4 });
  });
  after(async () => test.close());

  const getTrial = async (trialId: string): Promise<Record<string, unknown>> =>
    expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body as Record<
      string,
      unknown
    >;

  it('stores both with the outputs and returns them on the trial and on /best', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const studyId = String(study.id);
    const leased = expectStatus(await lease(test, runner, studyId), 200).body;
    assert.equal(leased.trial.effectiveConfig, null);
    assert.equal(leased.trial.adapter, null);
    const trialId = String(leased.trial.id);
    const completion = { outputs: { loss: 2 }, gpuSeconds: 10, effectiveConfig, adapter };
    const done = expectStatus(await report(test, runner, trialId, 'complete', completion), 200).body;
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.effectiveConfig, effectiveConfig);
    assert.deepEqual(done.adapter, adapter);
    const fetched = await getTrial(trialId);
    assert.deepEqual(fetched.effectiveConfig, effectiveConfig);
    assert.deepEqual(fetched.adapter, adapter);
    const best = expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 200).body;
    assert.equal(best.id, trialId);
    assert.deepEqual(best.effectiveConfig, effectiveConfig);
    assert.deepEqual(best.adapter, adapter);
    // The same report again (its answer was lost) gets the same answer.
    const again = expectStatus(await report(test, runner, trialId, 'complete', completion), 200).body;
    assert.deepEqual(again.adapter, adapter);
  });

  it('leaves both null when the runner reports neither, and sizeBytes null when only the location is given', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, maxAttempts: 2 } }));
    const first = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    const plain = expectStatus(
      await report(test, runner, String(first.trial.id), 'complete', { outputs: { loss: 5 } }),
      200,
    ).body;
    assert.equal(plain.effectiveConfig, null);
    assert.equal(plain.adapter, null);
    const second = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    const located = expectStatus(
      await report(test, runner, String(second.trial.id), 'complete', {
        outputs: { loss: 6 },
        adapter: { location: '/data/adapters/t2' },
      }),
      200,
    ).body;
    assert.deepEqual(located.adapter, { location: '/data/adapters/t2', sizeBytes: null });
    assert.deepEqual((await getTrial(String(second.trial.id))).adapter, {
      location: '/data/adapters/t2',
      sizeBytes: null,
    });
  });

  it('keeps both on a late result stored by the locked path (lease expired, nobody took the trial)', async () => {
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, maxAttempts: 3 } }));
    const leased = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    await test.server.app.get(LeaseSweeper).sweep(new Date(Date.now() + 3_600_000));
    assert.equal((await getTrial(String(leased.trial.id))).status, 'pending');
    const done = expectStatus(
      await report(test, runner, String(leased.trial.id), 'complete', {
        outputs: { loss: 4 },
        effectiveConfig,
        adapter,
      }),
      200,
    ).body;
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.effectiveConfig, effectiveConfig);
    assert.deepEqual(done.adapter, adapter);
    const fetched = await getTrial(String(leased.trial.id));
    assert.deepEqual(fetched.effectiveConfig, effectiveConfig);
    assert.deepEqual(fetched.adapter, adapter);
  });

  it('sums GPU-seconds over every attempt of a trial (retryable failure, runner failure, then a result)', async () => {
    // Each runner reports the GPU-seconds of its own attempt; what the earlier attempts used stays counted.
    const other = await registerRunner(test, runnerKey, 'runner-meta-2', { gpus: 4 });
    const study = await createStudy(test, userKey, quadraticStudy({ budget: { maxEvaluations: 5, maxAttempts: 3 } }));
    const studyId = String(study.id);
    const trialId = String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
    const beat = async (by: TestRunner, gpuSeconds: number, total: number): Promise<void> => {
      expectStatus(await report(test, by, trialId, 'heartbeat', { gpuSeconds }), 200);
      assert.equal((await getTrial(trialId)).gpuSeconds, total);
    };
    await beat(runner, 100, 100);
    const retried = expectStatus(
      await report(test, runner, trialId, 'fail', { error: 'node lost', retryable: true, gpuSeconds: 120 }),
      200,
    ).body;
    assert.deepEqual([retried.status, retried.gpuSeconds], ['pending', 120]);

    assert.equal(String(expectStatus(await lease(test, other, studyId), 200).body.trial.id), trialId);
    await beat(other, 7, 127);
    const requeued = expectStatus(
      await report(test, other, trialId, 'fail', { error: 'disk full', kind: 'runner', gpuSeconds: 8 }),
      200,
    ).body;
    assert.deepEqual([requeued.status, requeued.gpuSeconds], ['pending', 128]);

    assert.equal(String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id), trialId);
    assert.equal((await getTrial(trialId)).gpuSeconds, 128, 'a new lease keeps what was used');
    await beat(runner, 30, 158);
    const done = expectStatus(
      await report(test, runner, trialId, 'complete', { outputs: { loss: 1 }, gpuSeconds: 50 }),
      200,
    ).body;
    assert.deepEqual([done.status, done.gpuSeconds], ['completed', 178]);
    const summary = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
    assert.equal(summary.gpuHoursUsed, 178 / 3600);
  });

  it('answers 400 naming the field for a bad adapter or an oversized effectiveConfig, and writes nothing', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const leased = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    const trialId = String(leased.trial.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ adapter: { location: 'x'.repeat(2001) } }, 'adapter.location'],
      [{ adapter: { location: '' } }, 'adapter.location'],
      [{ adapter: { location: 42 } }, 'adapter.location'],
      [{ adapter: { location: '/a', sizeBytes: -1 } }, 'adapter.sizeBytes'],
      [{ adapter: { location: '/a', sizeBytes: 1.5 } }, 'adapter.sizeBytes'],
      [{ adapter: '/data/adapters/t1' }, 'adapter'],
      [{ adapter: null }, 'adapter'],
      [{ effectiveConfig: { blob: 'x'.repeat(16 * 1024) } }, 'effectiveConfig'],
      [{ effectiveConfig: ['bf16'] }, 'effectiveConfig'],
      [{ effectiveConfig: 'bf16' }, 'effectiveConfig'],
    ];
    for (const [extra, field] of cases) {
      const refused = expectStatus(
        await report(test, runner, trialId, 'complete', { outputs: { loss: 1 }, ...extra }),
        400,
      ).body;
      assert.ok(
        (refused.details as { field: string }[]).some((detail) => detail.field === field),
        `${JSON.stringify(extra).slice(0, 80)} → ${JSON.stringify(refused.details)}`,
      );
    }
    const untouched = await getTrial(trialId);
    assert.equal(untouched.status, 'running');
    assert.equal(untouched.outputs, null);
    assert.equal(untouched.effectiveConfig, null);
    assert.equal(untouched.adapter, null);
    // Just under the bound is accepted.
    const fits = { blob: 'x'.repeat(16 * 1024 - 20) };
    const done = expectStatus(
      await report(test, runner, trialId, 'complete', { outputs: { loss: 1 }, effectiveConfig: fits }),
      200,
    ).body;
    assert.deepEqual(done.effectiveConfig, fits);
  });
});
