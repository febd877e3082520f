import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as stoppingDecision from '../../api/src/early-stopping/stopping-decision';
import type { StopQuestion } from '../../api/src/early-stopping/stopping-decision';
import { MAX_CALIBRATION_CURVES, MAX_FITTED_CURVE_POINTS } from '../../api/src/trials/trial-early-stopping';
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

/** Steps of a run; every step reports a point (a runner that evaluates at each step). */
const RUN_STEPS = 3000;
/** Points per heartbeat: the DTO's largest batch. */
const BATCH = 1000;

/** A learning curve falling from `final + 3` towards `final` (a power law in progress). */
const curveValue = (final: number, step: number): number => final + 3 * (step / RUN_STEPS) ** -0.5 - 3;

/**
 * Runner-controlled data that reaches the heartbeat's arithmetic: the curves (as long as a trial may
 * store) and the progress (any share in [0, 1]). Neither may cost the event loop in proportion to the
 * stored points, nor fail the request.
 */
describe('hostile heartbeats', () => {
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'), 'hostile-runner');
  });
  after(async () => test.close());

  const studyBody = (earlyStopping: Record<string, unknown>) => ({
    name: 'long curves',
    parameters: [{ name: 'x', type: 'real', lower: -5, upper: 5 }],
    outputs: [{ name: 'loss', type: 'objective' }],
    budget: { maxEvaluations: 20, leaseSeconds: 600 },
    algorithm: { name: 'random', seed: 7 },
    earlyStopping,
  });

  /** Sends the curve of `final` from `from` to `to` (inclusive), BATCH points a heartbeat; the last answer. */
  const sendCurve = async (trialId: string, final: number, from: number, to: number) => {
    let answer: Record<string, unknown> = {};
    for (let start = from; start <= to; start += BATCH) {
      const metrics = [];
      for (let step = start; step < Math.min(start + BATCH, to + 1); step++) {
        metrics.push({ name: 'loss', step, value: curveValue(final, step) });
      }
      const last = metrics[metrics.length - 1].step;
      answer = expectStatus(
        await report(test, runner, trialId, 'heartbeat', { progress: last / RUN_STEPS, metrics }),
        200,
      ).body as Record<string, unknown>;
      if (answer.shouldStop === true) return answer;
    }
    return answer;
  };

  it('decides on curves of any stored length with a bounded number of points, and still stops a hopeless trial', async () => {
    const study = await createStudy(
      test,
      userKey,
      studyBody({ kind: 'curve', calibrationWindow: MAX_CALIBRATION_CURVES }),
    );
    const studyId = String(study.id);
    // Calibration trials (numbers 1–3 run to the end): RUN_STEPS points each, completed at their final value.
    for (const final of [1.2, 1.1, 1.3]) {
      const leased = expectStatus(await lease(test, runner, studyId), 200).body;
      const trialId = String(leased.trial.id);
      await sendCurve(trialId, final, 1, RUN_STEPS);
      expectStatus(
        await report(test, runner, trialId, 'complete', { outputs: { loss: curveValue(final, RUN_STEPS) } }),
        200,
      );
    }
    const seen: { curve: number; calibration: number; longestCalibration: number }[] = [];
    const original = stoppingDecision.decideEarlyStop;
    (stoppingDecision as { decideEarlyStop: typeof original }).decideEarlyStop = (question: StopQuestion, ...rest) => {
      const calibration = [...question.completed, ...(question.stopped ?? [])];
      seen.push({
        curve: question.curve.length,
        calibration: calibration.length,
        longestCalibration: Math.max(0, ...calibration.map((curve) => curve.points.length)),
      });
      return original(question, ...rest);
    };
    try {
      // A trial whose curve heads for 11, far above the incumbent (about 1.1): it must be stopped.
      const leased = expectStatus(await lease(test, runner, studyId), 200).body;
      const answer = await sendCurve(String(leased.trial.id), 11, 1, RUN_STEPS);
      assert.equal(answer.shouldStop, true, JSON.stringify(answer));
      assert.equal(answer.reason, 'early_stopped');
    } finally {
      (stoppingDecision as { decideEarlyStop: typeof original }).decideEarlyStop = original;
    }
    assert.ok(seen.length > 0, 'the heartbeats asked for a decision');
    for (const question of seen) {
      assert.ok(question.curve <= MAX_FITTED_CURVE_POINTS, `trial curve of ${question.curve} points`);
      assert.ok(
        question.longestCalibration <= MAX_FITTED_CURVE_POINTS,
        `calibration curve of ${question.longestCalibration} points`,
      );
      assert.ok(question.calibration <= 2 * MAX_CALIBRATION_CURVES, `${question.calibration} calibration curves`);
    }
  });

  it('calibrates on at most MAX_CALIBRATION_CURVES completed curves, the largest window a policy may ask for', async () => {
    const study = await createStudy(test, userKey, {
      ...studyBody({ kind: 'curve', calibrationWindow: MAX_CALIBRATION_CURVES }),
      budget: { maxEvaluations: MAX_CALIBRATION_CURVES + 5, leaseSeconds: 600 },
    });
    const studyId = String(study.id);
    const shortCurve = (final: number) =>
      [300, 600, 900, 1200, 1500].map((step) => ({ name: 'loss', step, value: curveValue(final, step) }));
    for (let trial = 0; trial < MAX_CALIBRATION_CURVES + 1; trial++) {
      const leased = expectStatus(await lease(test, runner, studyId), 200).body;
      const trialId = String(leased.trial.id);
      const final = 1 + (trial % 7) / 10;
      expectStatus(
        await report(test, runner, trialId, 'heartbeat', { progress: 0.5, metrics: shortCurve(final) }),
        200,
      );
      expectStatus(await report(test, runner, trialId, 'complete', { outputs: { loss: final } }), 200);
    }
    const counts: number[] = [];
    const original = stoppingDecision.decideEarlyStop;
    (stoppingDecision as { decideEarlyStop: typeof original }).decideEarlyStop = (question: StopQuestion, ...rest) => {
      counts.push(question.completed.length);
      return original(question, ...rest);
    };
    try {
      const leased = expectStatus(await lease(test, runner, studyId), 200).body;
      expectStatus(
        await report(test, runner, String(leased.trial.id), 'heartbeat', { progress: 0.5, metrics: shortCurve(5) }),
        200,
      );
    } finally {
      (stoppingDecision as { decideEarlyStop: typeof original }).decideEarlyStop = original;
    }
    assert.deepEqual(counts, [MAX_CALIBRATION_CURVES]);
  });

  it("hands the median policy each completed curve at the trial's step only, and decides as before", async () => {
    const study = await createStudy(test, userKey, studyBody({ kind: 'median', nStartupTrials: 3 }));
    const studyId = String(study.id);
    const points = (final: number) =>
      Array.from({ length: 1000 }, (_, i) => ({ name: 'loss', step: i + 1, value: final + (1000 - i) / 1000 }));
    for (const final of [1, 2, 3]) {
      const leased = expectStatus(await lease(test, runner, studyId), 200).body;
      const trialId = String(leased.trial.id);
      expectStatus(await report(test, runner, trialId, 'heartbeat', { progress: 1, metrics: points(final) }), 200);
      expectStatus(await report(test, runner, trialId, 'complete', { outputs: { loss: final } }), 200);
    }
    const longest: number[] = [];
    const original = stoppingDecision.decideEarlyStop;
    (stoppingDecision as { decideEarlyStop: typeof original }).decideEarlyStop = (question: StopQuestion, ...rest) => {
      longest.push(Math.max(0, ...question.completed.map((curve) => curve.points.length)));
      return original(question, ...rest);
    };
    try {
      // At step 500 the completed curves read 1.501, 2.501, 3.501: the median is 2.501.
      const better = expectStatus(await lease(test, runner, studyId), 200).body;
      const kept = expectStatus(
        await report(test, runner, String(better.trial.id), 'heartbeat', {
          progress: 0.5,
          metrics: [{ name: 'loss', step: 500, value: 2.4 }],
        }),
        200,
      ).body;
      assert.equal(kept.shouldStop, false);
      const worse = expectStatus(await lease(test, runner, studyId), 200).body;
      const stopped = expectStatus(
        await report(test, runner, String(worse.trial.id), 'heartbeat', {
          progress: 0.5,
          metrics: [{ name: 'loss', step: 500, value: 2.6 }],
        }),
        200,
      ).body;
      assert.equal(stopped.shouldStop, true);
      assert.equal(stopped.reason, 'early_stopped');
    } finally {
      (stoppingDecision as { decideEarlyStop: typeof original }).decideEarlyStop = original;
    }
    assert.deepEqual(longest, [1, 1]);
  });

  it('takes a progress so small that step / progress overflows, leaving the trial running', async () => {
    const study = await createStudy(test, userKey, studyBody({ kind: 'curve' }));
    const leased = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    const trialId = String(leased.trial.id);
    for (const progress of [5e-324, 1e-300]) {
      const answer = expectStatus(
        await report(test, runner, trialId, 'heartbeat', {
          progress,
          metrics: [{ name: 'loss', step: 2_000_000_000, value: 1 }],
        }),
        200,
      ).body;
      assert.equal(answer.shouldStop, false);
    }
    expectStatus(
      await report(test, runner, trialId, 'heartbeat', {
        progress: 0.5,
        metrics: [{ name: 'loss', step: 10, value: 2 }],
      }),
      200,
    );
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body;
    assert.equal(trial.status, 'running');
    assert.equal(trial.progress, 0.5);
    expectStatus(await report(test, runner, trialId, 'complete', { outputs: { loss: 2 } }), 200);
  });
});
