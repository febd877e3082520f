import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import {
  assertStudyRefused,
  auth,
  createKey,
  createStudy,
  enqueuePoint,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { curveValue, EVAL_EVERY, finalLoss, GPU_SECONDS_PER_STEP, TOTAL_STEPS } from '../support/simulated-curves';
import { startTestServer, type TestServer } from '../support/test-server';

/** The fields of a study these tests read. */
interface StudyBody {
  status: string;
  stopReason: string | null;
  evaluationCount: number;
  gpuHoursUsed: number;
  trialCounts: Record<string, number>;
  budget: { maxGpuHours: number | null };
}

/**
 * `budget.maxGpuHours` (docs/algorithm.md, "Budgets: evaluations and GPU-hours"): validated like
 * every budget field, no lease once the trials' GPU-seconds reach it, the trials running finish
 * and count, the study ends `max_gpu_hours`; a runner's claim is bounded by its GPUs × lease time
 * (docs/reliability.md, finding 47).
 */
describe('a study budget in GPU-hours', () => {
  let test: TestServer;
  let userKey: string;
  let runnerKey: string;
  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runnerKey = await createKey(test, 'runner');
  });
  after(async () => test.close());

  const getStudy = async (id: string) =>
    expectStatus(await test.http.get(`/v1/studies/${id}`).set(...auth(userKey)), 200).body as StudyBody;
  const getTrial = async (id: string) =>
    expectStatus(await test.http.get(`/v1/trials/${id}`).set(...auth(userKey)), 200).body as {
      status: string;
      gpuSeconds: number;
    };
  const leaseTrial = async (runner: TestRunner, studyId: string): Promise<string> =>
    String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
  /** The running total the lease path reads, and the sum it stands for. */
  const totals = async (studyId: string): Promise<{ kept: number; summed: number }> => {
    const [row] = (await test.get(DataSource).query(
      `SELECT COALESCE((SELECT gpu_seconds FROM study_gpu_usage WHERE study_id = $1), 0) AS kept,
              COALESCE((SELECT SUM(gpu_seconds) FROM trials WHERE study_id = $1), 0) AS summed`,
      [studyId],
    )) as { kept: number; summed: number }[];
    return { kept: Number(row.kept), summed: Number(row.summed) };
  };

  it('refuses every value that is not a finite number in (0, the limit], naming budget.maxGpuHours, writing nothing', async () => {
    const bad: [string, unknown][] = [
      ['zero', 0],
      ['negative', -1],
      ['a string', '5'],
      ['NUL', '\u0000'],
      ['a number then NUL', '5\u0000'],
      ['a lone surrogate', '\ud800'],
      ['a boolean', true],
      ['past the limit', 1_000_001],
      ['1e400 (Infinity once parsed)', 'INFINITY'],
      ['an array', [5]],
      ['an object', { hours: 5 }],
      ['null', null],
    ];
    for (const [, value] of bad) {
      const budget = { maxEvaluations: 10, maxGpuHours: value };
      if (value === 'INFINITY') {
        // JSON has no Infinity: the literal 1e400 is what a client sends, and JSON.parse makes it Infinity.
        const count = async () =>
          expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total;
        const before = await count();
        const body = JSON.stringify(quadraticStudy({ budget: { maxEvaluations: 10, maxGpuHours: 0 } })).replace(
          '"maxGpuHours":0',
          '"maxGpuHours":1e400',
        );
        const response = expectStatus(
          await test.http
            .post('/v1/studies')
            .set(...auth(userKey))
            .set('Content-Type', 'application/json')
            .send(body),
          400,
        ).body;
        assert.ok((response.details as { field: string }[]).some((d) => d.field === 'budget.maxGpuHours'));
        assert.equal(await count(), before);
        continue;
      }
      await assertStudyRefused(test, userKey, quadraticStudy({ budget }), 'budget.maxGpuHours');
    }
    // The NOMAD import's budget derives from the same declaration: the same refusal.
    const parameterFile = readFileSync(join(process.cwd(), 'test/fixtures/nomad-p6-param.txt'), 'utf8');
    for (const [, value] of bad.filter(([, v]) => v !== 'INFINITY')) {
      const response = expectStatus(
        await test.http
          .post('/v1/studies/import/nomad')
          .set(...auth(userKey))
          .send({ name: 'imported', parameterFile, budget: { maxGpuHours: value } }),
        400,
      ).body;
      assert.ok(
        (response.details as { field: string }[]).some((d) => d.field === 'budget.maxGpuHours'),
        JSON.stringify(response.details),
      );
    }
    const imported = expectStatus(
      await test.http
        .post('/v1/studies/import/nomad')
        .set(...auth(userKey))
        .send({ name: 'imported', parameterFile, budget: { maxGpuHours: 2.5 } }),
      201,
    ).body;
    assert.equal(imported.study.budget.maxGpuHours, 2.5);
    // Left out: no GPU-hour cap, returned as null.
    const uncapped = await createStudy(test, userKey, quadraticStudy());
    assert.equal((uncapped.budget as Record<string, unknown>).maxGpuHours, null);
  });

  it('stops leasing at the cap, lets the running trial finish and count, keeps that across a restart, ends max_gpu_hours', async () => {
    // 0.1 GPU-hours = 360 GPU-seconds; 8 GPUs per runner leave every figure below within the bound.
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ budget: { maxEvaluations: 50, maxGpuHours: 0.1, leaseSeconds: 600 } }),
    );
    const studyId = String(study.id);
    assert.equal((study.budget as Record<string, unknown>).maxGpuHours, 0.1);
    const [one, two] = [
      await registerRunner(test, runnerKey, 'one', { gpus: 8 }),
      await registerRunner(test, runnerKey, 'two', { gpus: 8 }),
    ];
    const first = await leaseTrial(one, studyId);
    const second = await leaseTrial(two, studyId);
    expectStatus(await report(test, one, first, 'complete', { outputs: { loss: 3 }, gpuSeconds: 200 }), 200);
    const third = await leaseTrial(one, studyId); // 200 of 360 used: still leasing
    // The second trial's heartbeat takes the study past its budget while two trials run.
    expectStatus(await report(test, two, second, 'heartbeat', { gpuSeconds: 200 }), 200);
    assert.deepEqual(await totals(studyId), { kept: 400, summed: 400 });
    expectStatus(await report(test, one, third, 'complete', { outputs: { loss: 2 }, gpuSeconds: 50 }), 200);
    const refused = await lease(test, one, studyId);
    assert.equal(refused.status, 204, 'no new trial once the GPU-hours are spent');
    assert.equal(refused.headers['meshtune-study-status'], 'active', 'a trial still runs: the study waits for it');
    // A point enqueued now could never run.
    const enqueued = expectStatus(await enqueuePoint(test, userKey, studyId, { x: 1, y: 1 }), 409).body;
    assert.equal(enqueued.code, 'BUDGET_EXHAUSTED');

    // The app restarts while the last trial runs: the total and the refusal are as before.
    await test.restart();
    assert.deepEqual(await totals(studyId), { kept: 450, summed: 450 });
    // A lease naming no study may get another study's trial (the first test's are active), never this one's.
    const anyStudy = await lease(test, two);
    if (anyStudy.status === 200) assert.notEqual(anyStudy.body.trial.studyId, studyId);
    else assert.equal(anyStudy.status, 204);
    assert.equal((await getStudy(studyId)).status, 'active');

    // The running trial finishes past the budget: its result counts, then the study ends.
    expectStatus(await report(test, two, second, 'heartbeat', { gpuSeconds: 240 }), 200);
    expectStatus(await report(test, two, second, 'complete', { outputs: { loss: 1 }, gpuSeconds: 250 }), 200);
    const ended = await getStudy(studyId);
    assert.equal(ended.status, 'completed');
    assert.equal(ended.stopReason, 'max_gpu_hours');
    assert.equal(ended.evaluationCount, 3);
    assert.equal(ended.trialCounts.completed, 3);
    assert.ok(Math.abs(ended.gpuHoursUsed - 500 / 3600) < 1e-9, String(ended.gpuHoursUsed));
    assert.equal((await getTrial(second)).status, 'completed');
    assert.deepEqual(await totals(studyId), { kept: 500, summed: 500 });
  });

  it("bounds a runner's GPU-seconds by its GPUs × time since the lease: a claim of 1e9 cannot end the study", async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ budget: { maxEvaluations: 50, maxGpuHours: 1, leaseSeconds: 600 } }),
    );
    const studyId = String(study.id);
    const broken = await registerRunner(test, runnerKey, 'broken', { gpus: 2 });
    const trialId = await leaseTrial(broken, studyId);
    expectStatus(await report(test, broken, trialId, 'heartbeat', { gpuSeconds: 1e9 }), 200);
    // 2 GPUs × (seconds since the lease × 1.1 + 60): far below 1e9, and below the study's 3600.
    const claimed = Number((await getTrial(trialId)).gpuSeconds);
    assert.ok(claimed >= 120 && claimed < 600, `bounded claim ${claimed}`);
    // The same on the completion (another statement), and the result is kept.
    expectStatus(await report(test, broken, trialId, 'complete', { outputs: { loss: 1 }, gpuSeconds: 1e12 }), 200);
    const done = await getTrial(trialId);
    assert.equal(done.status, 'completed');
    assert.ok(done.gpuSeconds < 600, `bounded completion ${done.gpuSeconds}`);
    // And on a retryable failure (the requeue path).
    const next = await leaseTrial(broken, studyId);
    expectStatus(await report(test, broken, next, 'fail', { error: 'flaky', retryable: true, gpuSeconds: 3e12 }), 200);
    assert.ok((await getTrial(next)).gpuSeconds < 600);
    const still = await getStudy(studyId);
    assert.equal(still.status, 'active');
    assert.ok(still.gpuHoursUsed < 1);
    assert.equal((await lease(test, broken, studyId)).status, 200, 'the study still leases');
  });

  it('keeps the GPU-seconds of an attempt given back by release or decline, once, and refuses a bad figure naming gpuSeconds', async () => {
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({ budget: { maxEvaluations: 50, maxGpuHours: 1, leaseSeconds: 600 } }),
    );
    const studyId = String(study.id);
    const [keeper, decliner] = [
      await registerRunner(test, runnerKey, 'keeper', { gpus: 8 }),
      await registerRunner(test, runnerKey, 'decliner', { gpus: 8 }),
    ];
    const trialId = await leaseTrial(keeper, studyId);
    expectStatus(await report(test, keeper, trialId, 'heartbeat', { gpuSeconds: 30 }), 200);

    // Every bad figure on either route: 400 naming the field, the trial still held, nothing counted
    // (null is "not reported", as on the heartbeat, completion and failure).
    const hostile: unknown[] = [-1, 3.3e12, '60', true, [60], { value: 60 }, 'NaN', '1e999'];
    for (const action of ['release', 'decline'] as const) {
      for (const gpuSeconds of hostile) {
        const body = action === 'decline' ? { reason: 'no such model here', gpuSeconds } : { gpuSeconds };
        const refused = expectStatus(await report(test, keeper, trialId, action, body), 400).body;
        assert.match(JSON.stringify(refused), /gpuSeconds/, `${action} ${JSON.stringify(gpuSeconds)}`);
      }
    }
    const held = await getTrial(trialId);
    assert.equal(held.status, 'running');
    assert.equal(Number(held.gpuSeconds), 30);

    // A release counts the attempt's figure (the time since the last heartbeat included), once.
    expectStatus(await report(test, keeper, trialId, 'release', { gpuSeconds: 45 }), 200);
    expectStatus(await report(test, keeper, trialId, 'release', { gpuSeconds: 90 }), 200); // its answer was lost
    assert.equal(Number((await getTrial(trialId)).gpuSeconds), 45);
    assert.deepEqual(await totals(studyId), { kept: 45, summed: 45 });

    // The next attempt declines after its child used 20: added on top of the first attempt's.
    assert.equal(await leaseTrial(decliner, studyId), trialId);
    const declined = await report(test, decliner, trialId, 'decline', { reason: 'no such model here', gpuSeconds: 20 });
    expectStatus(declined, 200);
    expectStatus(
      await report(test, decliner, trialId, 'decline', { reason: 'no such model here', gpuSeconds: 20 }),
      200,
    );
    assert.equal(Number((await getTrial(trialId)).gpuSeconds), 65);
    assert.deepEqual(await totals(studyId), { kept: 65, summed: 65 });

    // A release with no body (older runners, the SDK before this) still gives the trial back.
    assert.equal(await leaseTrial(keeper, studyId), trialId);
    const bare = await test.http.post(`/v1/trials/${trialId}/release`).set(...auth(keeper.token));
    expectStatus(bare, 200);
    assert.equal((await getTrial(trialId)).status, 'pending');
    assert.equal(Number((await getTrial(trialId)).gpuSeconds), 65);
    assert.ok(Math.abs((await getStudy(studyId)).gpuHoursUsed - 65 / 3600) < 1e-9);
  });

  it("counts a report that comes after its lease ended no further than a lease period past the end: a stopped trial's last word or a late result a day later cannot end the study", async () => {
    const db = test.get(DataSource);
    const leaseSeconds = 600;
    const study = await createStudy(
      test,
      userKey,
      quadraticStudy({
        budget: { maxEvaluations: 50, maxGpuHours: 1, leaseSeconds },
        earlyStopping: { kind: 'median', nStartupTrials: 1 },
      }),
    );
    const studyId = String(study.id);
    const broken = await registerRunner(test, runnerKey, 'after-the-end', { gpus: 2 });
    // 2 GPUs × ((the lease's life, under a second here (5 s allowed), + one lease period) × 1.1 + 60).
    const bound = 2 * ((5 + leaseSeconds) * 1.1 + 60);
    /** The lease began and ended a day ago: the runner reports a day after its lease ended. */
    const aDayAgo = (trialId: string) =>
      db.query(
        `UPDATE trial_leases SET leased_at = leased_at - interval '1 day', ended_at = ended_at - interval '1 day'
          WHERE trial_id = $1`,
        [trialId],
      );

    // A completed trial with a curve, then one the median policy stops at its first point.
    const first = await leaseTrial(broken, studyId);
    const point = (value: number) => ({ progress: 0.1, metrics: [{ name: 'loss', step: 1, value }] });
    expectStatus(await report(test, broken, first, 'heartbeat', point(1)), 200);
    expectStatus(await report(test, broken, first, 'complete', { outputs: { loss: 1 } }), 200);
    const stopped = await leaseTrial(broken, studyId);
    const stop = expectStatus(await report(test, broken, stopped, 'heartbeat', point(100)), 200).body;
    assert.equal(stop.reason, 'early_stopped');
    await aDayAgo(stopped);
    // Its last word a day later: still answered with the stop, the figure cut to the lease's time.
    const lastWord = expectStatus(await report(test, broken, stopped, 'heartbeat', { gpuSeconds: 1e12 }), 200).body;
    assert.equal(lastWord.reason, 'early_stopped');
    const stoppedSeconds = Number((await getTrial(stopped)).gpuSeconds);
    assert.ok(stoppedSeconds > 0 && stoppedSeconds <= bound, `the stopped trial's claim ${stoppedSeconds}`);

    // A lease that expired, swept, nobody took the trial since: its late result a day later is
    // stored, its figure cut the same way.
    const late = await leaseTrial(broken, studyId);
    await db.query(`UPDATE trials SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [late]);
    await test.get(LeaseSweeper).sweep();
    await aDayAgo(late);
    const done = expectStatus(
      await report(test, broken, late, 'complete', { outputs: { loss: 2 }, gpuSeconds: 1e12 }),
      200,
    ).body;
    assert.equal(done.status, 'completed', 'the late result is kept');
    assert.ok(Number(done.gpuSeconds) <= bound, `the late result's claim ${done.gpuSeconds}`);

    const still = await getStudy(studyId);
    assert.equal(still.status, 'active');
    assert.ok(still.gpuHoursUsed < 1, `GPU-hours used ${still.gpuHoursUsed}`);
    assert.equal((await lease(test, broken, studyId)).status, 200, 'the study still leases');
  });

  /** One runner, sequential: every trial runs its simulated curve; returns how many trials the study leased. */
  async function runToTheEnd(
    earlyStopping: unknown,
    maxGpuHours: number,
  ): Promise<{ trials: number; study: StudyBody }> {
    const study = await createStudy(test, userKey, {
      name: 'curves',
      parameters: [
        { name: 'x', type: 'real', lower: -5, upper: 5 },
        { name: 'y', type: 'real', lower: -5, upper: 5 },
      ],
      outputs: [{ name: 'val_loss', type: 'objective' }],
      x0: [{ x: -3, y: 3 }],
      budget: { maxEvaluations: 500, maxGpuHours, leaseSeconds: 600 },
      algorithm: { name: 'mads', seed: 3 },
      earlyStopping,
    });
    const studyId = String(study.id);
    const runner = await registerRunner(test, runnerKey, 'curves', { gpus: 2 });
    let trials = 0;
    for (;;) {
      const leased = await lease(test, runner, studyId);
      if (leased.status === 204) break;
      const trial = expectStatus(leased, 200).body.trial as {
        id: string;
        number: number;
        parameters: Record<string, number | string>;
      };
      trials += 1;
      const final = finalLoss(trial.parameters);
      let value = final;
      let stopped = false;
      for (let step = EVAL_EVERY; step <= TOTAL_STEPS; step += EVAL_EVERY) {
        value = curveValue(final, trial.number, step);
        const beat = expectStatus(
          await report(test, runner, trial.id, 'heartbeat', {
            progress: step / TOTAL_STEPS,
            metrics: [{ name: 'val_loss', step, value }],
            gpuSeconds: step * GPU_SECONDS_PER_STEP,
          }),
          200,
        ).body as { shouldStop: boolean };
        if (beat.shouldStop) {
          stopped = true;
          break;
        }
      }
      if (!stopped) {
        expectStatus(
          await report(test, runner, trial.id, 'complete', {
            outputs: { val_loss: value },
            gpuSeconds: TOTAL_STEPS * GPU_SECONDS_PER_STEP,
          }),
          200,
        );
      }
      assert.ok(trials < 500);
    }
    return { trials, study: await getStudy(studyId) };
  }

  it('with early stopping (curve) the same GPU budget buys more trials than with none', async () => {
    // 20 whole runs' worth: 20 × 100 steps × 0.6 GPU-seconds.
    const maxGpuHours = (20 * TOTAL_STEPS * GPU_SECONDS_PER_STEP) / 3600;
    const none = await runToTheEnd({ kind: 'none' }, maxGpuHours);
    const curve = await runToTheEnd({ kind: 'curve' }, maxGpuHours);
    for (const run of [none, curve]) {
      assert.equal(run.study.status, 'completed');
      assert.equal(run.study.stopReason, 'max_gpu_hours');
      assert.ok(run.study.gpuHoursUsed >= maxGpuHours);
      // Past the cap by at most the one trial running when it was reached (one runner).
      assert.ok(run.study.gpuHoursUsed < maxGpuHours + (TOTAL_STEPS * GPU_SECONDS_PER_STEP) / 3600);
    }
    assert.equal(none.trials, 20, 'every run whole: 20 runs fill the budget');
    assert.ok(curve.trials > none.trials, `curve ${curve.trials} vs none ${none.trials}`);
    assert.ok(curve.study.trialCounts.stopped > 0);
  });
});
