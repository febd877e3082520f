import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import {
  classifyFailure,
  createClient,
  NotFoundError,
  OutOfGpuMemoryError,
  RetryableEvaluationError,
  RunnerFailureError,
  type CreateStudyRequest,
  type MeshtuneClient,
  type Study,
  type TrialOutcome,
} from '@meshtune/sdk';
import { DataSource } from 'typeorm';
import { createKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/** Known optimum: 0 at x = 1.5, y = -2. */
function shiftedSphere(x: number, y: number): number {
  return (x - 1.5) ** 2 + (y + 2) ** 2;
}

function sphereStudy(overrides: Partial<CreateStudyRequest> = {}): CreateStudyRequest {
  return {
    name: 'sdk shifted sphere',
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'integer', lower: -10, upper: 10 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ x: 4, y: 5 }],
    budget: { maxEvaluations: 60, maxAttempts: 2, leaseSeconds: 30 },
    algorithm: { name: 'mads', seed: 3 },
    ...overrides,
  };
}

describe('SDK worker against the real API', () => {
  let test: TestServer;
  let user: MeshtuneClient;
  let runnerKey: string;

  before(async () => {
    test = await startTestServer({ leaseRetryAfterSeconds: 1 });
    user = createClient({ baseUrl: test.url, apiKey: await createKey(test, 'user') });
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  it('optimizes a synthetic function to its known optimum with a TypeScript worker', async () => {
    const study = await user.createStudy(sphereStudy());
    const worker = user.withApiKey(runnerKey);
    const progress: Study[] = [];
    const [summary, finished] = await Promise.all([
      worker.runWorker(study.id, (parameters) => shiftedSphere(Number(parameters.x), Number(parameters.y)), {
        concurrency: 2,
        name: 'sphere-worker',
      }),
      user.waitForStudy(study.id, { intervalMs: 200, onProgress: (current) => progress.push(current) }),
    ]);

    assert.equal(finished.status, 'completed');
    assert.equal(summary.reason, 'study_finished');
    assert.equal(summary.studyStatus, 'completed');
    assert.equal(summary.failed, 0);
    assert.equal(summary.completed, finished.evaluationCount);
    assert.ok(progress.length >= 2, 'onProgress is called as the study advances');
    assert.equal(progress.at(-1)?.status, 'completed');

    const best = await user.bestTrial(study.id);
    assert.ok(best !== null);
    assert.equal(best.parameters.y, -2);
    assert.ok(Math.abs(Number(best.parameters.x) - 1.5) < 0.05, `x = ${String(best.parameters.x)}`);
    assert.ok(best.outputs !== null && best.outputs.loss! < 1e-2, `loss = ${JSON.stringify(best.outputs)}`);

    const history = await user.exportHistory(study.id);
    assert.equal(history.length, finished.evaluationCount);
    assert.ok(history.every((trial) => trial.status === 'completed' || trial.status === 'failed'));
    assert.ok(history.some((trial) => trial.id === best.id));
    const csv = await user.exportHistory(study.id, 'csv');
    assert.equal(typeof csv, 'string');
    assert.ok(csv.trim().split('\n').length >= finished.evaluationCount, 'one CSV line per finished trial');
    const nomad = await user.exportHistory(study.id, 'nomad');
    assert.equal(nomad.trim().split('\n').length, finished.evaluationCount, 'one NOMAD history line per evaluation');
  });

  it('reports an evaluation that throws as a failed trial, and stops after maxTrials', async () => {
    const study = await user.createStudy(sphereStudy({ name: 'sdk failing', budget: { maxEvaluations: 10 } }));
    const summary = await user.withApiKey(runnerKey).runWorker(
      study.id,
      () => {
        throw new Error('CUDA out of memory');
      },
      { maxTrials: 1 },
    );
    assert.deepEqual([summary.failed, summary.completed, summary.reason], [1, 0, 'max_trials']);
    const { items } = await user.listTrials(study.id, { status: 'failed' });
    assert.equal(items.length, 1);
    assert.match(items[0]!.error ?? '', /CUDA out of memory/);
  });

  it('classifies thrown errors: machine errors are runner failures, others failed evaluations', async () => {
    const missing = await readFile('/nonexistent/meshtune/train.json').catch((error: unknown) => error);
    assert.equal(classifyFailure(missing), 'runner', 'ENOENT: a data path missing on this machine');
    assert.equal(classifyFailure(new RunnerFailureError('no CUDA device')), 'runner');
    assert.equal(classifyFailure(new RetryableEvaluationError('preempted')), 'retryable');
    assert.equal(classifyFailure(new Error('loss is NaN')), 'evaluation');

    const study = await user.createStudy(
      sphereStudy({ name: 'sdk classify', budget: { maxEvaluations: 3 }, algorithm: { name: 'random', seed: 4 } }),
    );
    let calls = 0;
    const outcomes: TrialOutcome[] = [];
    const summary = await user.withApiKey(runnerKey).runWorker(
      study.id,
      async (parameters) => {
        calls += 1;
        // First call: the data file is not on this machine (a runner failure, given back);
        // second: the point diverges (a failed evaluation); then real evaluations.
        if (calls === 1) await readFile('/nonexistent/meshtune/train.json');
        if (calls === 2) throw new Error('loss is NaN');
        return shiftedSphere(Number(parameters.x), Number(parameters.y));
      },
      { runnerFailureBackoffMs: 10, onTrial: (outcome) => outcomes.push(outcome) },
    );
    assert.deepEqual(
      outcomes.map((outcome) => outcome.state),
      ['runner_failed', 'failed', 'completed', 'completed'],
    );
    assert.deepEqual([summary.runnerFailed, summary.failed, summary.completed], [1, 1, 2]);
    const finished = await user.getStudy(study.id);
    assert.equal(finished.evaluationCount, 3, 'the runner failure spent none of the budget');
    assert.equal(finished.failedEvaluationCount, 1);
    const retried = await user.getTrial(outcomes[0]!.trial.id);
    assert.equal(retried.status, 'failed', 'the trial given back was evaluated next (and diverged)');
    assert.equal(retried.runnerFailures, 1);
  });

  it('reports OutOfGpuMemoryError as a resource failure: a bigger runner gets the trial, else it fails once', async () => {
    assert.equal(classifyFailure(new OutOfGpuMemoryError('CUDA out of memory')), 'resource');
    const worker = user.withApiKey(runnerKey);
    const outOfMemory = async (name: string): Promise<TrialOutcome> => {
      const study = await user.createStudy(
        sphereStudy({ name, budget: { maxEvaluations: 3 }, algorithm: { name: 'random', seed: 6 } }),
      );
      const outcomes: TrialOutcome[] = [];
      await worker.runWorker(
        study.id,
        () => {
          throw new OutOfGpuMemoryError('CUDA out of memory on rank 0');
        },
        { maxTrials: 1, runner: { gpus: 1, gpuMemoryMb: 24_576 }, onTrial: (outcome) => outcomes.push(outcome) },
      );
      assert.equal(outcomes.length, 1);
      return outcomes[0]!;
    };
    // No runner of the project has more than 24 GB: the point fits none, a failed evaluation.
    const alone = await outOfMemory('sdk oom alone');
    assert.equal(alone.state, 'failed');
    assert.match(alone.trial.error ?? '', /does not fit any runner/);
    assert.equal((await user.getStudy(alone.trial.studyId)).evaluationCount, 1);
    // An 80 GB runner is live: the trial waits for it, budget untouched.
    await worker.registerRunner({ name: 'sdk 80 GB', gpus: 1, gpuMemoryMb: 81_920 });
    const handedOver = await outOfMemory('sdk oom bigger runner');
    assert.equal(handedOver.state, 'released');
    assert.equal(handedOver.trial.status, 'pending');
    assert.equal(handedOver.trial.minGpuMemoryMb, 24_577);
    assert.equal((await user.getStudy(handedOver.trial.studyId)).evaluationCount, 0);
  });

  it('backs off after runner failures, stops when quarantined, and a healthy worker finishes the budget', async () => {
    const study = await user.createStudy(
      sphereStudy({ name: 'sdk quarantine', budget: { maxEvaluations: 6 }, algorithm: { name: 'random', seed: 9 } }),
    );
    const leaseTimes: number[] = [];
    let reason = '';
    const broken = await user.withApiKey(runnerKey).runWorker(
      study.id,
      () => {
        leaseTimes.push(Date.now());
        throw new RunnerFailureError('model folder /models/llama missing');
      },
      {
        name: 'broken-worker',
        runnerFailureBackoffMs: 200,
        whenQuarantined: 'stop',
        onQuarantined: (why) => (reason = why),
      },
    );
    assert.equal(broken.reason, 'quarantined');
    assert.equal(broken.runnerFailed, 3, 'quarantined after MESHTUNE_QUARANTINE_AFTER_FAILURES (3)');
    assert.equal(broken.failed, 0);
    assert.match(reason, /model folder \/models\/llama missing/);
    assert.ok(leaseTimes[1]! - leaseTimes[0]! >= 190, `backed off 200 ms: ${leaseTimes[1]! - leaseTimes[0]!}`);
    assert.ok(leaseTimes[2]! - leaseTimes[1]! >= 390, `then 400 ms: ${leaseTimes[2]! - leaseTimes[1]!}`);
    assert.equal((await user.getStudy(study.id)).evaluationCount, 0);

    const healthy = await user
      .withApiKey(runnerKey)
      .runWorker(study.id, (parameters) => shiftedSphere(Number(parameters.x), Number(parameters.y)), {
        name: 'healthy-worker',
      });
    const finished = await user.getStudy(study.id);
    assert.equal(finished.status, 'completed');
    assert.equal(healthy.completed, 6);
    assert.equal(finished.evaluationCount, 6);
    assert.equal(finished.failedEvaluationCount, 0);
  });

  it('aborts an evaluation when the study is paused, releases the trial, and returns once the study stops', async () => {
    const study = await user.createStudy(sphereStudy({ name: 'sdk pause' }));
    let evaluationStarted!: () => void;
    const started = new Promise<void>((resolve) => (evaluationStarted = resolve));
    let trialReleased!: (outcome: TrialOutcome) => void;
    const released = new Promise<TrialOutcome>((resolve) => (trialReleased = resolve));
    const worker = user.withApiKey(runnerKey).runWorker(
      study.id,
      (_parameters, { signal }) =>
        new Promise<number>((_resolve, reject) => {
          evaluationStarted();
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
      { heartbeatIntervalMs: 50, onTrial: (outcome) => outcome.state === 'released' && trialReleased(outcome) },
    );
    await started;
    await user.pauseStudy(study.id);
    const outcome = await released;
    assert.match(outcome.error ?? '', /study_paused/);
    await user.stopStudy(study.id);
    const summary = await worker;
    assert.deepEqual([summary.released, summary.completed, summary.failed], [1, 0, 0]);
    assert.equal(summary.studyStatus, 'stopped');
  });

  it('a study deleted under a running worker: the late result is dropped as released and the worker ends, no throw', async () => {
    const study = await user.createStudy(sphereStudy({ name: 'sdk delete', budget: { maxEvaluations: 10 } }));
    let evaluationStarted!: () => void;
    const started = new Promise<void>((resolve) => (evaluationStarted = resolve));
    let finishEvaluation!: () => void;
    const deleted = new Promise<void>((resolve) => (finishEvaluation = resolve));
    const outcomes: TrialOutcome[] = [];
    const worker = user.withApiKey(runnerKey).runWorker(
      study.id,
      // An evaluation that ignores the abort: its result arrives after the study is gone.
      async () => {
        evaluationStarted();
        await deleted;
        return 1;
      },
      { heartbeatIntervalMs: 50, onTrial: (outcome) => outcomes.push(outcome) },
    );
    await started;
    await assert.rejects(user.deleteStudy(study.id), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'STUDY_NOT_FINISHED');
      return true;
    });
    await user.stopStudy(study.id);
    await user.deleteStudy(study.id);
    finishEvaluation();
    const summary = await worker;
    assert.deepEqual([summary.released, summary.completed, summary.failed], [1, 0, 0]);
    assert.equal(outcomes[0].state, 'released');
    assert.match(outcomes[0].error ?? '', /does not exist/);
    assert.ok(['study_finished', 'study_deleted'].includes(summary.reason), summary.reason);
    await assert.rejects(user.getStudy(study.id), NotFoundError);
    await assert.rejects(user.deleteStudy(study.id), NotFoundError);
  });

  it('a worker pinned to a study deleted between its leases ends with reason study_deleted', async () => {
    const study = await user.createStudy(sphereStudy({ name: 'sdk delete between', budget: { maxEvaluations: 50 } }));
    let evaluations = 0;
    const worker = user.withApiKey(runnerKey).runWorker(
      study.id,
      async () => {
        evaluations += 1;
        if (evaluations === 2) {
          // Stopped and deleted while this evaluation runs: its report is dropped, the next lease finds no study.
          await user.stopStudy(study.id);
          await user.deleteStudy(study.id);
        }
        return evaluations;
      },
      { heartbeatIntervalMs: 1_000 },
    );
    const summary = await worker;
    assert.equal(summary.completed, 1);
    assert.equal(summary.released, 1);
    assert.equal(summary.reason, 'study_deleted');
  });

  it('keeps reporting a finished result through an outage longer than the client retries', async () => {
    const study = await user.createStudy(sphereStudy({ name: 'sdk outage', budget: { maxEvaluations: 10 } }));
    let completeCalls = 0;
    const flaky = createClient({
      baseUrl: test.url,
      apiKey: runnerKey,
      retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 5 },
      fetch: (request) => {
        if (request.url.endsWith('/complete') && ++completeCalls <= 4) {
          return Promise.resolve(new Response('{"code":"SERVICE_UNAVAILABLE","message":"down"}', { status: 503 }));
        }
        return fetch(request);
      },
    });
    const summary = await flaky.runWorker(study.id, () => 1, { maxTrials: 1 });
    assert.equal(summary.completed, 1);
    assert.equal(completeCalls, 5);
    const { items } = await user.listTrials(study.id, { status: 'completed' });
    assert.deepEqual(items[0]?.outputs, { loss: 1 });
  });

  it('best trial is null before any result, and an unknown study still throws', async () => {
    const study = await user.createStudy(sphereStudy({ name: 'sdk empty' }));
    assert.equal(await user.bestTrial(study.id), null);
    await assert.rejects(user.bestTrial('00000000-0000-4000-8000-000000000000'), NotFoundError);
  });

  it('creates a study from a NOMAD parameter file', async () => {
    const parameterFile = [
      'DIMENSION 2',
      'BB_EXE "$python3 sphere.py"',
      'BB_OUTPUT_TYPE OBJ',
      'X0 ( 1 1 )',
      'LOWER_BOUND ( 0 -10 )',
      'UPPER_BOUND ( 2 10 )',
      'MAX_BB_EVAL 40',
      'DISPLAY_DEGREE 2',
    ].join('\n');
    const { study, ignoredKeywords } = await user.importNomadStudy({
      name: 'from nomad',
      parameterFile,
      parameterNames: ['lr', 'rank'],
    });
    assert.equal(study.name, 'from nomad');
    assert.deepEqual(
      study.parameters.map((parameter) => parameter.name),
      ['lr', 'rank'],
    );
    assert.equal(study.budget.maxEvaluations, 40);
    assert.ok(ignoredKeywords.includes('BB_EXE'), `ignored: ${ignoredKeywords.join(', ')}`);
  });
});

describe('SDK worker under the API rate limits', () => {
  let test: TestServer;

  // One-second windows: a key may make 4 requests a second, its project 6; a worker of 4 slots
  // asks for more, so leases, reports and registrations meet 429 RATE_LIMITED all the time.
  before(async () => {
    test = await startTestServer({
      leaseRetryAfterSeconds: 1,
      rateLimits: { windowSeconds: 1, keyPerSecond: 4, projectPerSecond: 6, expensivePerSecond: 0 },
    });
  });
  after(async () => test.close());

  it('runWorker waits out 429s (Retry-After) past the client retries and loses no report', async () => {
    const user = createClient({ baseUrl: test.url, apiKey: await createKey(test, 'user') });
    const study = await user.createStudy(
      sphereStudy({
        budget: { maxEvaluations: 16, maxAttempts: 1, leaseSeconds: 60 },
        algorithm: { name: 'random', seed: 1 },
      }),
    );
    // No client-level retries: every 429 reaches the worker's own handling.
    const worker = createClient({
      baseUrl: test.url,
      apiKey: await createKey(test, 'runner'),
      retry: { maxRetries: 0 },
    });
    const summary = await worker.runWorker(
      study.id,
      (parameters) => shiftedSphere(Number(parameters.x), Number(parameters.y)),
      { concurrency: 4, name: 'limited-worker' },
    );
    assert.equal(summary.reason, 'study_finished');
    assert.equal(summary.failed, 0);
    assert.equal(summary.completed, 16);
    const finished = await user.getStudy(study.id);
    assert.equal(finished.status, 'completed');
    assert.equal(finished.evaluationCount, 16);
    const metrics = await (await fetch(`${test.url}/metrics`)).text();
    const refused = Number(/meshtune_rate_limited_total\{budget="key"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(refused > 0, `the worker met the limit (${refused} refusals)`);
  });
});

describe('SDK worker under the in-flight bounds', () => {
  let test: TestServer;

  // One request of a key (the worker's runner token) in flight at a time: a worker of 4 slots
  // leases 4 at once, and while the study's row is locked its first lease waits inside its handler,
  // so the others wait 1 s for its place and are refused with 429 (budget key-in-flight).
  before(async () => {
    test = await startTestServer({ leaseRetryAfterSeconds: 1, inFlightLimits: { perKey: 1, perProject: 4 } });
  });
  after(async () => test.close());

  it('runWorker waits out in-flight refusals (Retry-After) and loses no report', async () => {
    const user = createClient({ baseUrl: test.url, apiKey: await createKey(test, 'user') });
    const study = await user.createStudy(
      sphereStudy({
        budget: { maxEvaluations: 8, maxAttempts: 1, leaseSeconds: 60 },
        algorithm: { name: 'random', seed: 1 },
      }),
    );
    const lock = test.get(DataSource).createQueryRunner();
    await lock.connect();
    await lock.startTransaction();
    await lock.query('SELECT id FROM studies WHERE id = $1 FOR UPDATE', [study.id]);
    const unlock = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await lock.rollbackTransaction();
      await lock.release();
    })();
    const worker = createClient({
      baseUrl: test.url,
      apiKey: await createKey(test, 'runner'),
      retry: { maxRetries: 0 },
    });
    const summary = await worker.runWorker(
      study.id,
      (parameters) => shiftedSphere(Number(parameters.x), Number(parameters.y)),
      { concurrency: 4, name: 'bounded-worker' },
    );
    await unlock;
    assert.equal(summary.reason, 'study_finished');
    assert.equal(summary.failed, 0);
    assert.equal(summary.completed, 8);
    const finished = await user.getStudy(study.id);
    assert.equal(finished.status, 'completed');
    assert.equal(finished.evaluationCount, 8);
    const metrics = await (await fetch(`${test.url}/metrics`)).text();
    const refused = Number(/meshtune_rate_limited_total\{budget="key-in-flight"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(refused > 0, `the worker met the bound (${refused} refusals)`);
  });
});
