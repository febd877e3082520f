import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import {
  auth,
  createProject,
  createStudy,
  expectStatus,
  lease,
  projectKey,
  quadraticStudy,
  report,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const GB24 = 24_576;
const GB80 = 81_920;
const OOM = 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (rank 1)';

/** A project of its own (its runners are the only ones its studies may use), with a user and a runner key. */
interface Fleet {
  userKey: string;
  runnerKey: string;
}

describe('runner capacity: GPU requirements and out-of-memory failures', () => {
  let test: TestServer;

  before(async () => {
    test = await startTestServer();
  });
  after(async () => test.close());

  const fleet = async (name: string): Promise<Fleet> => {
    const projectId = await createProject(test, { name: name.replace(/[^\w.-]+/g, '-') });
    return {
      userKey: await projectKey(test, 'user', projectId),
      runnerKey: await projectKey(test, 'runner', projectId),
    };
  };
  const runner = async (
    { runnerKey }: Fleet,
    capacity: { gpus?: number; gpuMemoryMb?: number },
    name = `runner ${capacity.gpus ?? 0}x${capacity.gpuMemoryMb ?? '?'}`,
  ): Promise<TestRunner> => {
    const body = expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(runnerKey))
        .send({ name, ...capacity }),
      201,
    ).body;
    return { id: body.id as string, token: body.token as string };
  };
  const getStudy = async ({ userKey }: Fleet, studyId: string) =>
    expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
  const getRunner = async ({ userKey }: Fleet, runnerId: string) => {
    const { items } = expectStatus(await test.http.get('/v1/runners?limit=200').set(...auth(userKey)), 200).body as {
      items: Record<string, unknown>[];
    };
    const listed = items.find((item) => item.id === runnerId);
    assert.ok(listed !== undefined, `runner ${runnerId} is listed`);
    return listed;
  };
  /** A study of 3 evaluations whose trials may lose 2 leases (expired, or retryable failures). */
  const twoAttemptStudy = async ({ userKey }: Fleet, name: string): Promise<string> =>
    String(
      (
        await createStudy(
          test,
          userKey,
          quadraticStudy({ name, budget: { maxEvaluations: 3, maxAttempts: 2, leaseSeconds: 60 } }),
        )
      ).id,
    );
  const outOfMemory = (by: TestRunner, trialId: string) =>
    report(test, by, trialId, 'fail', { error: OOM, kind: 'resource' });

  it('leases a study that requires GPUs and GPU memory only to runners that have them', async () => {
    const project = await fleet('capacity requirements');
    const demanding = await createStudy(
      test,
      project.userKey,
      quadraticStudy({ name: 'needs 2 x 40 GiB', requiredRunnerGpus: 2, requiredRunnerGpuMemoryMb: 40_960 }),
    );
    assert.equal(demanding.requiredRunnerGpus, 2);
    assert.equal(demanding.requiredRunnerGpuMemoryMb, 40_960);
    const demandingId = String(demanding.id);
    const small = await runner(project, { gpus: 2, gpuMemoryMb: GB24 });
    const unknownMemory = await runner(project, { gpus: 2 });
    const oneGpu = await runner(project, { gpus: 1, gpuMemoryMb: GB80 });
    const big = await runner(project, { gpus: 2, gpuMemoryMb: GB80 });

    // Naming the study: a clear 409 that names the requirement the runner does not meet.
    for (const [who, requirement, required, registered] of [
      [small, 'requiredRunnerGpuMemoryMb', 40_960, GB24],
      [unknownMemory, 'requiredRunnerGpuMemoryMb', 40_960, null],
      [oneGpu, 'requiredRunnerGpus', 2, 1],
    ] as const) {
      const refused = expectStatus(await lease(test, who, demandingId), 409);
      assert.equal(refused.body.code, 'RUNNER_CAPACITY_INSUFFICIENT');
      assert.deepEqual(refused.body.details, { requirement, required, registered });
      assert.match(refused.body.message, new RegExp(requirement));
    }
    // Naming no study: the demanding study is skipped (nothing else to lease: 204).
    for (const who of [small, unknownMemory, oneGpu]) expectStatus(await lease(test, who), 204);

    // A study without requirements is leased by any of them; the demanding one by the big runner.
    const plain = await createStudy(test, project.userKey, quadraticStudy({ name: 'any runner' }));
    assert.equal(plain.requiredRunnerGpus, null);
    assert.equal(plain.requiredRunnerGpuMemoryMb, null);
    const fromSmall = expectStatus(await lease(test, small), 200).body.trial;
    assert.equal(fromSmall.studyId, plain.id);
    const fromBig = expectStatus(await lease(test, big, demandingId), 200).body.trial;
    assert.equal(fromBig.studyId, demandingId);
  });

  it('answers 400 naming the field for a requirement that is not a positive integer in range, and writes nothing', async () => {
    const project = await fleet('bad requirements');
    for (const field of ['requiredRunnerGpus', 'requiredRunnerGpuMemoryMb']) {
      for (const value of [0, -1, 1.5, 1e12, '8', true, [8], { mb: 8 }]) {
        const response = await test.http
          .post('/v1/studies')
          .set(...auth(project.userKey))
          .send(quadraticStudy({ [field]: value }));
        assert.equal(response.status, 400, `${field} = ${JSON.stringify(value)}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.code, 'VALIDATION_FAILED');
        const fields = (response.body.details as { field: string }[]).map((detail) => detail.field);
        assert.deepEqual([...new Set(fields)], [field], `${field} = ${JSON.stringify(value)}`);
      }
    }
    const listed = expectStatus(await test.http.get('/v1/studies').set(...auth(project.userKey)), 200).body;
    assert.equal(listed.total, 0, 'no study was created');
  });

  it('gives a trial that ran out of GPU memory to a runner with more, without using an attempt, the budget or the runner health', async () => {
    const project = await fleet('out of memory, bigger runner');
    const studyId = await twoAttemptStudy(project, 'oom');
    const first24 = await runner(project, { gpus: 1, gpuMemoryMb: GB24 }, 'first 24 GB');
    const second24 = await runner(project, { gpus: 1, gpuMemoryMb: GB24 }, 'second 24 GB');
    const big = await runner(project, { gpus: 1, gpuMemoryMb: GB80 }, '80 GB');

    const x0 = expectStatus(await lease(test, first24, studyId), 200).body.trial;
    const requeued = expectStatus(await outOfMemory(first24, String(x0.id)), 200).body;
    assert.equal(requeued.status, 'pending');
    assert.equal(requeued.runnerId, null);
    assert.equal(requeued.minGpuMemoryMb, GB24 + 1, 'only runners with more memory per GPU than 24 GB');
    assert.equal(requeued.runnerFailures, 0);
    assert.equal(requeued.error, OOM);
    // The same report again (its answer lost): the same answer, nothing counted twice.
    assert.deepEqual(expectStatus(await outOfMemory(first24, String(x0.id)), 200).body, requeued);
    const afterOom = await getStudy(project, studyId);
    assert.equal(afterOom.evaluationCount, 0, 'no budget used');
    assert.deepEqual(afterOom.trialCounts, { pending: 1, running: 0, completed: 0, failed: 0, stopped: 0, paused: 0 });
    const blamed = await getRunner(project, first24.id);
    assert.equal(blamed.health, 'healthy');
    assert.equal(blamed.failureStreak, 0);
    assert.equal(blamed.evaluationFailureStreak, 0);

    // Another 24 GB runner skips it (a new point instead), naming the study or not.
    const other = expectStatus(await lease(test, second24, studyId), 200).body.trial;
    assert.notEqual(other.id, x0.id);
    const another = expectStatus(await lease(test, second24), 200).body.trial;
    assert.notEqual(another.id, x0.id);
    // The 80 GB runner gets it, pending trials first.
    const onBig = expectStatus(await lease(test, big), 200).body.trial;
    assert.equal(onBig.id, x0.id);
    assert.equal(onBig.minGpuMemoryMb, GB24 + 1);
    // No attempt was used: with maxAttempts 2, a retryable failure now still requeues it.
    const retried = expectStatus(
      await report(test, big, String(x0.id), 'fail', { error: 'node lost', retryable: true }),
      200,
    ).body;
    assert.equal(retried.status, 'pending');
    const again = expectStatus(await lease(test, big, studyId), 200).body.trial;
    assert.equal(again.id, x0.id);
    // Out of memory on 80 GB too, and no runner of the project has more: a failed evaluation.
    const failed = expectStatus(await outOfMemory(big, String(x0.id)), 200).body;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.minGpuMemoryMb, GB80 + 1);
    assert.match(failed.error, /does not fit any runner/);
    assert.ok(failed.error.endsWith(OOM), failed.error);
    const done = await getStudy(project, studyId);
    assert.equal(done.evaluationCount, 1, 'told to the engine, counted in the budget once');
    assert.equal(done.failedEvaluationCount, 1);
    assert.equal((await getRunner(project, big.id)).health, 'healthy');
  });

  it('fails a trial that ran out of memory as an evaluation, told once, when no live runner of the project has more', async () => {
    const project = await fleet('out of memory, no bigger runner');
    const studyId = await twoAttemptStudy(project, 'too big');
    const small = await runner(project, { gpus: 1, gpuMemoryMb: GB24 });
    // Runners with more memory that do not count: one not heard from for an hour, one quarantined
    // (and 80 GB runners of other projects, registered by the other tests of this file).
    const gone = await runner(project, { gpus: 1, gpuMemoryMb: GB80 }, 'gone');
    const quarantined = await runner(project, { gpus: 1, gpuMemoryMb: GB80 }, 'quarantined');
    const db = test.get(DataSource);
    await db.query(`UPDATE runners SET last_seen_at = now() - interval '1 hour' WHERE id = $1`, [gone.id]);
    await db.query(`UPDATE runners SET quarantined_at = now(), health = 'quarantined' WHERE id = $1`, [quarantined.id]);

    const x0 = expectStatus(await lease(test, small, studyId), 200).body.trial;
    const failed = expectStatus(await outOfMemory(small, String(x0.id)), 200).body;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.minGpuMemoryMb, GB24 + 1);
    assert.match(
      failed.error,
      new RegExp(`out of GPU memory on a runner with ${GB24} MiB per GPU.*does not fit any runner`),
    );
    const repeated = expectStatus(await outOfMemory(small, String(x0.id)), 200).body;
    assert.equal(repeated.status, 'failed');
    assert.equal(repeated.error, failed.error);
    const told = await getStudy(project, studyId);
    assert.equal(told.evaluationCount, 1, 'counted once');
    assert.equal(told.failedEvaluationCount, 1);
    // The point fits no machine: the runner is not blamed for it.
    const blamed = await getRunner(project, small.id);
    assert.equal(blamed.health, 'healthy');
    assert.equal(blamed.evaluationFailureStreak, 0);

    // The gone runner comes back: the next trial that runs out of memory on 24 GB waits for it.
    expectStatus(await test.http.post(`/v1/runners/${gone.id}/heartbeat`).set(...auth(gone.token)), 200);
    const next = expectStatus(await lease(test, small, studyId), 200).body.trial;
    assert.equal(expectStatus(await outOfMemory(small, String(next.id)), 200).body.status, 'pending');
    assert.equal(expectStatus(await lease(test, gone, studyId), 200).body.trial.id, next.id);
  });

  it('keeps the old behaviour for a runner that registered no GPU memory: a retryable failed evaluation', async () => {
    const project = await fleet('out of memory, unknown memory');
    const studyId = await twoAttemptStudy(project, 'unknown memory');
    const unknown = await runner(project, { gpus: 1 });
    await runner(project, { gpus: 1, gpuMemoryMb: GB80 }, 'bigger, irrelevant');

    const x0 = expectStatus(await lease(test, unknown, studyId), 200).body.trial;
    const retried = expectStatus(await outOfMemory(unknown, String(x0.id)), 200).body;
    assert.equal(retried.status, 'pending', 'retried: an attempt was left');
    assert.equal(retried.minGpuMemoryMb, null, 'no memory requirement without the runner memory');
    const again = expectStatus(await lease(test, unknown, studyId), 200).body.trial;
    assert.equal(again.id, x0.id);
    const failed = expectStatus(await outOfMemory(unknown, String(x0.id)), 200).body;
    assert.equal(failed.status, 'failed', 'the second attempt was the last (maxAttempts 2)');
    assert.equal(failed.error, OOM);
    assert.equal((await getStudy(project, studyId)).evaluationCount, 1);
  });

  it('stops a trial that ran out of memory after its study ended', async () => {
    const project = await fleet('out of memory, study over');
    const study = await createStudy(test, project.userKey, quadraticStudy({ name: 'stopped' }));
    const studyId = String(study.id);
    const small = await runner(project, { gpus: 1, gpuMemoryMb: GB24 });
    await runner(project, { gpus: 1, gpuMemoryMb: GB80 }, 'bigger');
    const x0 = expectStatus(await lease(test, small, studyId), 200).body.trial;
    expectStatus(await test.http.post(`/v1/studies/${studyId}/stop`).set(...auth(project.userKey)), 200);
    const stopped = expectStatus(await outOfMemory(small, String(x0.id)), 200).body;
    assert.equal(stopped.status, 'stopped');
    assert.equal((await getStudy(project, studyId)).evaluationCount, 0);
  });
});
