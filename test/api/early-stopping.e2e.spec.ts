import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import {
  assertStudyRefused,
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import {
  type CurveAttempt,
  EVAL_EVERY,
  CURVE_NOISE_SD,
  Gate,
  GPU_SECONDS_PER_STEP,
  runCurveWorker,
  SIMULATED_RUNNER,
  TOTAL_STEPS,
} from '../support/simulated-curves';
import { startTestServer, type TestServer } from '../support/test-server';
import { launchChromium, signIn, waitForData } from '../dashboard/fixture';

const MAX_EVALUATIONS = 30;
const CALIBRATION_TRIALS = 4;

/**
 * A runner's checks once a heartbeat said `early_stopped`: its last word (the GPU-seconds up to the
 * moment the child stopped) is answered the same, and complete or fail are refused, clearly.
 */
function checkStopped(test: TestServer, runner: TestRunner) {
  return async (attempt: CurveAttempt): Promise<void> => {
    attempt.gpuSeconds += 0.25;
    const again = expectStatus(
      await report(test, runner, attempt.id, 'heartbeat', { gpuSeconds: attempt.gpuSeconds }),
      200,
    ).body;
    assert.deepEqual(again, { shouldStop: true, reason: 'early_stopped', leaseExpiresAt: null, metricsDropped: 0 });
    // A stopped trial has no result to report.
    const complete = expectStatus(
      await report(test, runner, attempt.id, 'complete', { outputs: { val_loss: attempt.lastValue } }),
      409,
    ).body;
    assert.equal(complete.code, 'TRIAL_STOPPED_EARLY');
    const fail = expectStatus(await report(test, runner, attempt.id, 'fail', { error: 'stopped' }), 409).body;
    assert.equal(fail.code, 'TRIAL_STOPPED_EARLY');
  };
}

describe('early stopping on the heartbeat', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;
  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  const studyBody = (earlyStopping?: unknown, algorithm: Record<string, unknown> = { name: 'mads', seed: 3 }) => ({
    name: 'curves',
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'real', lower: -5, upper: 5 },
    ],
    outputs: [{ name: 'val_loss', type: 'objective' }],
    x0: [{ x: -3, y: 3 }],
    budget: { maxEvaluations: MAX_EVALUATIONS, leaseSeconds: 120 },
    algorithm,
    ...(earlyStopping === undefined ? {} : { earlyStopping }),
  });

  it('chooses the policy at creation: curve for MADS, none for random search and NOMAD imports', async () => {
    const mads = await createStudy(test, userKey, studyBody());
    assert.deepEqual(mads.earlyStopping, {
      kind: 'curve',
      minProgress: 0.1,
      confidence: 0.95,
      calibrationTrials: 3,
      minPoints: 4,
      calibrationWindow: 50,
      // Stopping that can be undone is opt-in: every stop stays final by default.
      resume: null,
    });
    assert.equal(mads.gpuHoursUsed, 0);
    assert.equal(mads.gpuHoursSaved, 0);
    const random = await createStudy(test, userKey, studyBody(undefined, { name: 'random', seed: 1 }));
    assert.deepEqual(random.earlyStopping, { kind: 'none' });
    const median = await createStudy(test, userKey, studyBody({ kind: 'median', nStartupTrials: 2 }));
    assert.deepEqual(median.earlyStopping, { kind: 'median', nStartupTrials: 2, nWarmupSteps: 0, intervalSteps: 1 });
    const fetched = expectStatus(
      await test.http.get(`/v1/studies/${String(median.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.deepEqual(fetched.earlyStopping, median.earlyStopping);
    const imported = expectStatus(
      await test.http
        .post('/v1/studies/import/nomad')
        .set(...auth(userKey))
        .send({
          name: 'imported',
          parameterFile: readFileSync(join(process.cwd(), 'test/fixtures/nomad-p6-param.txt'), 'utf8'),
        }),
      201,
    ).body;
    assert.deepEqual(imported.study.earlyStopping, { kind: 'none' });
  });

  const badPolicies: [string, unknown, string][] = [
    ['a confidence of 1', { kind: 'curve', confidence: 1 }, 'earlyStopping.confidence'],
    ['an unknown kind', { kind: 'hyperband' }, 'earlyStopping.kind'],
    ['a parameter of another policy', { kind: 'median', minProgress: 0.2 }, 'earlyStopping.minProgress'],
    ['a fractional calibrationTrials', { kind: 'curve', calibrationTrials: 2.5 }, 'earlyStopping.calibrationTrials'],
    // Each calibration curve may be refitted at a heartbeat: the window is bounded (MAX_CALIBRATION_WINDOW).
    ['a calibrationWindow above 100', { kind: 'curve', calibrationWindow: 101 }, 'earlyStopping.calibrationWindow'],
    ['a policy that is not an object', 'curve', 'earlyStopping'],
    [
      'a resume after 0 trials',
      { kind: 'curve', resume: { afterTrialsWithoutImprovement: 0 } },
      'earlyStopping.resume.afterTrialsWithoutImprovement',
    ],
    ['a resume that is not an object', { kind: 'curve', resume: 5 }, 'earlyStopping.resume'],
    // A pause resumes from the trial's checkpoint: without checkpointSteps, refused.
    ['a resume without checkpointSteps', { kind: 'curve', resume: {} }, 'earlyStopping.resume'],
    ['a resume on the median policy', { kind: 'median', resume: null }, 'earlyStopping.resume'],
  ];
  for (const [what, policy, field] of badPolicies) {
    it(`rejects ${what} with 400 naming ${field}, and writes nothing`, async () => {
      await assertStudyRefused(test, userKey, studyBody(policy), field);
    });
  }

  // The one key of the opaque trainingConfig the API reads (it grants resume and revive) is checked
  // as the runner checks it: a whole number of steps from 1; 400 naming it, with or without a
  // policy that needs it, nothing written. Whole numbers, null and absence are accepted.
  it('rejects a trainingConfig.checkpointSteps that is not a whole number of steps from 1, naming it', async () => {
    let nested: unknown = 5;
    for (let depth = 0; depth < 30; depth++) nested = { steps: nested };
    const bad: unknown[] = [
      1.5,
      0,
      -3,
      1e308,
      Number.MAX_SAFE_INTEGER,
      '5',
      '5\u0000',
      '\ud800',
      'x'.repeat(10_000),
      true,
      [5],
      nested,
    ];
    // Each refusal within a 2 s budget per request (the machine is shared and loaded).
    const timed = async (refusal: Promise<void>): Promise<void> => {
      const started = performance.now();
      await refusal;
      assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
    };
    const parameterFile = readFileSync(join(process.cwd(), 'test/fixtures/nomad-p6-param.txt'), 'utf8');
    for (const checkpointSteps of bad) {
      for (const policy of [{ kind: 'curve', revive: true }, { kind: 'curve', resume: {} }, undefined]) {
        await timed(
          assertStudyRefused(
            test,
            userKey,
            { ...studyBody(policy), trainingConfig: { checkpointSteps } },
            'trainingConfig.checkpointSteps',
          ),
        );
      }
      // The NOMAD import creates its study through the same path: the same refusal.
      await timed(
        (async () => {
          const refused = expectStatus(
            await test.http
              .post('/v1/studies/import/nomad')
              .set(...auth(userKey))
              .send({ name: 'imported', parameterFile, trainingConfig: { checkpointSteps } }),
            400,
          ).body;
          assert.ok(
            (refused.details as { field: string }[]).some((d) => d.field === 'trainingConfig.checkpointSteps'),
            JSON.stringify(refused.details),
          );
        })(),
      );
    }
    // Past the size every trainingConfig is held to, the whole object is named (IsBoundedJsonObject).
    await timed(
      assertStudyRefused(
        test,
        userKey,
        { ...studyBody({ kind: 'curve', revive: true }), trainingConfig: { checkpointSteps: 'x'.repeat(100_000) } },
        'trainingConfig',
      ),
    );
    for (const checkpointSteps of [1, 500, 2_147_483_647]) {
      const study = await createStudy(test, userKey, {
        ...studyBody({ kind: 'curve', revive: true }),
        trainingConfig: { checkpointSteps },
      });
      assert.equal((study.earlyStopping as { revive: boolean }).revive, true);
    }
    const plain = await createStudy(test, userKey, { ...studyBody(), trainingConfig: { checkpointSteps: null } });
    assert.equal((plain.earlyStopping as { resume: unknown }).resume, null);
  });

  // Finding 24's sibling, finding 25: the unknown-parameter checks asked `key in rules`, which is
  // true of every name an object inherits (`constructor`, `toString`, …): such a key was accepted
  // silently, as a parameter of every kind and of `resume`. Every inherited name, at each level.
  it('rejects a parameter named like an inherited property of an object, of every kind and of resume', async () => {
    const inherited = Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== '__proto__');
    assert.ok(inherited.length >= 10);
    const checkpointed = { trainingConfig: { checkpointSteps: 10 } };
    for (const name of inherited) {
      for (const kind of ['none', 'median', 'curve']) {
        await assertStudyRefused(test, userKey, studyBody({ kind, [name]: 1 }), `earlyStopping.${name}`);
      }
      await assertStudyRefused(
        test,
        userKey,
        { ...studyBody({ kind: 'curve', resume: { [name]: 1 } }), ...checkpointed },
        `earlyStopping.resume.${name}`,
      );
    }
  });

  it('stops hopeless trials of a MADS study run by 2 runners, across a restart, with the budget exact', async () => {
    const study = await createStudy(
      test,
      userKey,
      studyBody({ kind: 'curve', calibrationTrials: CALIBRATION_TRIALS, minProgress: 0.15 }),
    );
    const studyId = String(study.id);
    const runners = [
      await registerRunner(test, runnerKey, 'es-a', SIMULATED_RUNNER),
      await registerRunner(test, runnerKey, 'es-b', SIMULATED_RUNNER),
    ];
    const logs: CurveAttempt[] = [];
    const gate = new Gate();
    let finished = 0;
    let restarted = false;
    const workers = runners.map((runner) =>
      runCurveWorker(test, runner, studyId, {
        gate,
        attempts: logs,
        extraMetrics: (step, value) => [{ name: 'train_loss', step, value: value - 0.2 }],
        afterStop: checkStopped(test, runner),
        onFinished: () => {
          finished += 1;
          // Half-way: park both runners (one usually in the middle of a trial) and restart the app.
          if (finished === 12) gate.close();
        },
      }),
    );
    const restart = (async () => {
      while (gate.parked < runners.length) await new Promise((resolve) => setTimeout(resolve, 10));
      await test.restart();
      restarted = true;
      gate.release();
    })();
    await Promise.all([...workers, restart]);
    assert.ok(restarted);

    const done = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
    assert.equal(done.status, 'completed');
    assert.equal(done.stopReason, 'max_evaluations');
    // The budget is exact: every completed and every early-stopped trial is one evaluation.
    assert.equal(done.evaluationCount, MAX_EVALUATIONS);
    const trials = expectStatus(
      await test.http.get(`/v1/studies/${studyId}/trials?limit=200`).set(...auth(userKey)),
      200,
    ).body.items as {
      id: string;
      number: number;
      origin: string;
      status: string;
      stopReason: string | null;
      gpuSeconds: number | null;
      earlyStop: {
        rule: string;
        progress: number;
        lastValue: number | null;
        extrapolatedFinal: number | null;
        threshold: number | null;
      } | null;
    }[];
    const stopped = trials.filter((trial) => trial.stopReason === 'early_stopped');
    const completed = trials.filter((trial) => trial.status === 'completed');
    assert.equal(stopped.length + completed.length, MAX_EVALUATIONS);
    assert.equal(done.trialCounts.failed, 0);
    assert.ok(stopped.length >= 3, `only ${stopped.length} trials were stopped early`);
    // X0 and the first calibration trials always run to the end.
    for (const trial of trials.filter((t) => t.origin === 'x0' || t.number <= CALIBRATION_TRIALS)) {
      assert.equal(trial.status, 'completed', `trial ${trial.number} (${trial.origin})`);
    }
    const byId = new Map(logs.map((log) => [log.id, log]));
    let falseStops = 0;
    const falseMargins: string[] = [];
    for (const trial of stopped) {
      const log = byId.get(trial.id);
      assert.ok(
        log !== undefined && log.stoppedAt !== null,
        `trial ${trial.number} stopped without telling its runner`,
      );
      assert.equal(trial.status, 'stopped');
      assert.equal(trial.earlyStop?.rule, 'cannot_beat_threshold');
      assert.equal(trial.earlyStop?.progress, log.stoppedAt / TOTAL_STEPS);
      assert.ok(trial.earlyStop?.lastValue !== null && trial.earlyStop?.extrapolatedFinal !== null);
      const threshold = trial.earlyStop?.threshold;
      assert.ok(typeof threshold === 'number');
      // A false stop: the full run would have come in below the incumbent the decision used, by
      // more than the noise of the two last points compared can explain (each carries noise of
      // standard deviation CURVE_NOISE_SD; 3σ of their difference). Closer than that it is a near
      // tie: which side it falls on depends on which of the two runners' reports came first, so it
      // is not the policy's choice (seen: 2 such stops of 16–18 in 2 of 21 runs; the one measured was 0.005 below). The false-stop
      // rate itself is bench:fidelity's figure (docs/benchmarks.md, "Early stopping").
      const margin = threshold - log.final;
      if (margin > 3 * Math.SQRT2 * CURVE_NOISE_SD) {
        falseStops += 1;
        falseMargins.push(`trial ${trial.number}: ${margin.toFixed(4)} below`);
      }
    }
    assert.ok(falseStops <= 1, `${falseStops} of ${stopped.length} stops were false: ${falseMargins.join(', ')}`);

    // The engine agrees with the trials, also when rebuilt from the database after another restart.
    const engine = expectStatus(await test.http.get(`/v1/studies/${studyId}/engine`).set(...auth(userKey)), 200).body;
    assert.equal(engine.evaluationCount, MAX_EVALUATIONS);
    await test.restart();
    const rebuilt = expectStatus(await test.http.get(`/v1/studies/${studyId}/engine`).set(...auth(userKey)), 200).body;
    assert.deepEqual(rebuilt, engine);
    const best = expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 200).body;
    assert.ok(
      completed.some((trial) => trial.id === best.id),
      'the incumbent is a completed trial',
    );
    // Each stop was told as a failed evaluation carrying its stored decision's lower bound
    // (`censoredBelow`, read by the models only with `censoredModels`), and only stops carry one.
    const db = test.get(DataSource);
    const told = (
      (await db.query(`SELECT operation FROM engine_events WHERE study_id = $1 AND operation->>'op' = 'tell'`, [
        studyId,
      ])) as { operation: { results: { x: number[]; outputs: unknown; censoredBelow?: number }[] } }[]
    ).flatMap((row) => row.operation.results);
    const stops = (await db.query(`SELECT point, early_stop FROM trials WHERE study_id = $1 AND status = 'stopped'`, [
      studyId,
    ])) as { point: number[]; early_stop: { lowerBound: number | null } }[];
    assert.equal(stops.length, stopped.length);
    for (const stop of stops) {
      const result = told.find((r) => JSON.stringify(r.x) === JSON.stringify(stop.point));
      assert.ok(result !== undefined, `the stop at ${JSON.stringify(stop.point)} was never told`);
      assert.equal(result.outputs, null);
      assert.ok(typeof stop.early_stop.lowerBound === 'number');
      assert.equal(result.censoredBelow, stop.early_stop.lowerBound);
    }
    assert.equal(told.filter((r) => r.censoredBelow !== undefined).length, stops.length);

    // GPU-seconds: each trial keeps the runner's latest total; saved = used × (1 − p) / p of the stopped ones.
    let used = 0;
    let saved = 0;
    for (const trial of trials) {
      const log = byId.get(trial.id);
      assert.ok(log !== undefined);
      assert.equal(trial.gpuSeconds, log.gpuSeconds);
      used += log.gpuSeconds;
      if (log.stoppedAt !== null) {
        const progress = log.stoppedAt / TOTAL_STEPS;
        saved += (log.gpuSeconds * (1 - progress)) / progress;
      }
    }
    const again = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
    assert.ok(Math.abs(again.gpuHoursUsed * 3600 - used) < 1e-6, `${again.gpuHoursUsed * 3600} vs ${used}`);
    assert.ok(Math.abs(again.gpuHoursSaved * 3600 - saved) < 1e-6, `${again.gpuHoursSaved * 3600} vs ${saved}`);
    // The dashboard draws the stopped curves apart (dashed, grey) and shows the GPU-hours.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await signIn(page, test.url, userKey);
      await page.goto(`${test.url}/?poll=500#/studies/${studyId}`);
      await waitForData(page, '#metrics-chart', 'seriesCount', String(MAX_EVALUATIONS));
      assert.equal(await page.locator('#metrics-chart').getAttribute('data-stopped-count'), String(stopped.length));
      assert.match(
        await page.locator('#gpu-hours').innerText(),
        /used, .* saved by early stopping \(estimate; policy curve\)/,
      );
    } finally {
      await browser.close();
    }

    const full = MAX_EVALUATIONS * TOTAL_STEPS * GPU_SECONDS_PER_STEP;
    process.stdout.write(
      `# early stopping: ${stopped.length}/${MAX_EVALUATIONS} trials stopped (${falseStops} false), ` +
        `at progress ${stopped.map((t) => t.earlyStop?.progress).join(' ')}; GPU-seconds used ${used.toFixed(1)} ` +
        `of ${full} for full runs, saved (estimate) ${saved.toFixed(1)}; best ${best.outputs.val_loss}\n`,
    );
  });

  it('never stops a trial of a study whose policy is none, and keeps its GPU-seconds', async () => {
    const study = await createStudy(test, userKey, studyBody({ kind: 'none' }));
    // 4 GPUs: 123.5 GPU-seconds at once stay within 4 × 60 (docs/reliability.md, finding 47).
    const runner = await registerRunner(test, runnerKey, 'es-none', { gpus: 4 });
    const leased = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    for (let step = EVAL_EVERY; step <= TOTAL_STEPS; step += EVAL_EVERY) {
      const beat = expectStatus(
        await report(test, runner, leased.trial.id, 'heartbeat', {
          progress: step / TOTAL_STEPS,
          metrics: [{ name: 'val_loss', step, value: 100 + step }],
          gpuSeconds: step,
        }),
        200,
      ).body;
      assert.equal(beat.shouldStop, false);
    }
    const bad = expectStatus(await report(test, runner, leased.trial.id, 'heartbeat', { gpuSeconds: -1 }), 400).body;
    assert.ok((bad.details as { field: string }[]).some((detail) => detail.field === 'gpuSeconds'));
    const done = expectStatus(
      await report(test, runner, leased.trial.id, 'complete', { outputs: { val_loss: 200 }, gpuSeconds: 123.5 }),
      200,
    ).body;
    assert.equal(done.gpuSeconds, 123.5);
    const after = expectStatus(await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)), 200).body;
    assert.ok(Math.abs(after.gpuHoursUsed - 123.5 / 3600) < 1e-12);
    assert.equal(after.gpuHoursSaved, 0);
  });
});
