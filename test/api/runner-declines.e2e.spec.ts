import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import { auth, expectStatus, lease, report, type TestRunner } from '../support/api-client';
import { countRows, createFleet, type Fleet, fleetStudy, newRunner, postRunner } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * A runner that cannot run a study by its own settings gives the trial back, once
 * (docs/reliability.md, finding 49): `POST /v1/trials/{id}/decline` requeues the trial untouched
 * (budget, attempts, engine, the runner's health) and keeps that study — only that one — from that
 * runner for a while; a study every runner declines waits and says why.
 */
describe('runner declines', () => {
  let test: TestServer;
  let db: DataSource;

  before(async () => {
    test = await startTestServer();
    db = test.get(DataSource);
  });
  after(async () => test.close());

  const decline = (runner: TestRunner, trialId: string, body: unknown) =>
    test.http
      .post(`/v1/trials/${trialId}/decline`)
      .set(...auth(runner.token))
      .send(body as object);
  const study = async (fleet: Fleet, id: string) =>
    expectStatus(await test.http.get(`/v1/studies/${id}`).set(...auth(fleet.userKey)), 200).body;
  const declines = async (fleet: Fleet, id: string) =>
    expectStatus(await test.http.get(`/v1/studies/${id}/runner-declines`).set(...auth(fleet.userKey)), 200).body;
  const trial = async (fleet: Fleet, id: string) =>
    expectStatus(await test.http.get(`/v1/trials/${id}`).set(...auth(fleet.userKey)), 200).body;
  const health = async (fleet: Fleet, runner: TestRunner) => {
    const { items } = expectStatus(await test.http.get('/v1/runners?limit=200').set(...auth(fleet.userKey)), 200)
      .body as { items: { id: string; health: string }[] };
    return items.find((item) => item.id === runner.id)?.health;
  };

  it("the finding's scenario: neither declined study loses an evaluation or fails, the runner does not lease them again, another runner completes them", async () => {
    const fleet = await createFleet(test, 'declines-scenario');
    const outside = await fleetStudy(test, fleet, { name: 'paths outside', budget: { maxEvaluations: 5 } });
    const worker = await fleetStudy(test, fleet, { name: 'runWorker study', budget: { maxEvaluations: 5 } });
    const laptop = await newRunner(test, fleet.runnerKey, { name: 'laptop' });

    const declined = new Map<string, { trialId: string; attempt: number }>();
    for (let i = 0; i < 2; i += 1) {
      const leased = expectStatus(await lease(test, laptop), 200).body;
      const studyId = String(leased.trial.studyId);
      assert.ok(!declined.has(studyId), 'a declined study is not leased to the same runner again');
      declined.set(studyId, { trialId: String(leased.trial.id), attempt: Number(leased.trial.attempt) });
      const answer = expectStatus(
        await decline(laptop, String(leased.trial.id), {
          reason: 'trainData: a local path this runner does not allow',
        }),
        200,
      ).body;
      assert.equal(answer.status, 'pending');
    }
    assert.deepEqual([...declined.keys()].sort(), [outside, worker].sort());
    // Nothing else for it: both studies are declined, and it does not spin on them.
    expectStatus(await lease(test, laptop), 204);
    const named = expectStatus(await lease(test, laptop, outside), 409).body;
    assert.equal(named.code, 'RUNNER_DECLINED_STUDY');
    assert.match(String(named.details.reason), /trainData/);

    for (const id of [outside, worker]) {
      const body = await study(fleet, id);
      assert.equal(body.status, 'active', 'a declined study waits, it does not fail');
      assert.equal(body.evaluationCount, 0, 'a decline spends no evaluation');
      const listed = await declines(fleet, id);
      assert.equal(listed.total, 1);
      assert.equal(listed.items[0].runnerId, laptop.id);
      assert.equal(listed.items[0].runnerName, 'laptop');
      assert.match(listed.items[0].reason, /trainData/);
      assert.ok(Date.parse(listed.items[0].expiresAt) > Date.now());
    }
    assert.equal(await health(fleet, laptop), 'healthy', 'a decline is not a runner failure');

    // The repeated decline (its answer was lost) gets the same answer, counted once.
    const [firstStudy, first] = [...declined.entries()][0];
    expectStatus(await decline(laptop, first.trialId, { reason: 'again' }), 200);
    assert.equal(await countRows(db, 'runner_study_declines WHERE study_id = $1', [firstStudy]), 1);

    // Another runner leases the same points (same trials, next attempt) and completes them.
    const gpu = await newRunner(test, fleet.runnerKey, { name: 'gpu box' });
    const wanted = new Set([...declined.values()].map((d) => d.trialId));
    let completed = 0;
    for (let i = 0; i < 10 && wanted.size > 0; i += 1) {
      const leased = expectStatus(await lease(test, gpu), 200).body;
      const trialId = String(leased.trial.id);
      if (wanted.delete(trialId)) {
        const before = declined.get(String(leased.trial.studyId))!;
        assert.equal(leased.trial.attempt, before.attempt + 1, 'the same point, its next lease');
      }
      expectStatus(await report(test, gpu, trialId, 'complete', { outputs: { loss: 1 } }), 200);
      completed += 1;
    }
    assert.equal(wanted.size, 0, 'the declined points were leased to the other runner');
    let evaluations = 0;
    for (const id of [outside, worker]) {
      evaluations += Number((await study(fleet, id)).evaluationCount);
      const row = await trial(fleet, declined.get(id)!.trialId);
      assert.equal(row.status, 'completed');
    }
    assert.equal(evaluations, completed, "only the other runner's results count");
  });

  it('a study cannot exclude a runner from other studies; registering again clears its declines', async () => {
    const fleet = await createFleet(test, 'declines-scope');
    const hostile = await fleetStudy(test, fleet, { name: 'declined', budget: { maxEvaluations: 5 } });
    const runner = await newRunner(test, fleet.runnerKey, { name: 'shared' });
    const leased = expectStatus(await lease(test, runner, hostile), 200).body;
    expectStatus(await decline(runner, String(leased.trial.id), { reason: 'trustRemoteCode: not allowed' }), 200);
    // Any number of declines of the one study exclude only that study.
    const other = await fleetStudy(test, fleet, { name: 'other', budget: { maxEvaluations: 5 } });
    const next = expectStatus(await lease(test, runner), 200).body;
    assert.equal(next.trial.studyId, other);
    expectStatus(await report(test, runner, String(next.trial.id), 'complete', { outputs: { loss: 2 } }), 200);
    assert.equal(await health(fleet, runner), 'healthy');
    // Registering again (its operator changed its folders): the declined study is offered again.
    expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(runner.token))
        .send({ name: 'shared', gpus: 1 }),
      201,
    );
    assert.equal((await declines(fleet, hostile)).total, 0);
    const again = expectStatus(await lease(test, runner, hostile), 200).body;
    assert.equal(again.trial.id, leased.trial.id);
  });

  it("a decline racing the same runner's complete, fail, runner failure, release, heartbeat, second decline or the sweep of its expired lease: one of them ends the lease, nothing is counted twice, no 5xx", async () => {
    const fleet = await createFleet(test, 'declines-races');
    const id = await fleetStudy(test, fleet, {
      name: 'races',
      budget: { maxEvaluations: 1_000, maxAttempts: 100, leaseSeconds: 600 },
    });
    const runner = await newRunner(test, fleet.runnerKey, { name: 'racer' });
    const after = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));
    /** What a racing call answered: an HTTP reply, or the sweep's count as `code`. */
    type Answer = { status: number; body: { code?: unknown } };
    const others: Record<string, (trialId: string) => Promise<Answer>> = {
      complete: (trialId: string) => report(test, runner, trialId, 'complete', { outputs: { loss: 1 } }),
      fail: (trialId: string) => report(test, runner, trialId, 'fail', { error: 'diverged' }),
      'runner failure': (trialId: string) => report(test, runner, trialId, 'fail', { error: 'no GPU', kind: 'runner' }),
      release: (trialId: string) => report(test, runner, trialId, 'release'),
      heartbeat: (trialId: string) => report(test, runner, trialId, 'heartbeat', { progress: 0.5 }),
      decline: (trialId: string) => decline(runner, trialId, { reason: 'the same decline, sent twice' }),
      // The lease has expired (set below) and the sweeper ends it: `code` says how many it handled.
      'expiry sweep': async () => ({ status: 200, body: { code: String(await test.get(LeaseSweeper).sweep()) } }),
    };
    const seen = new Map<string, number>();
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(others)),
        // When each of the two calls starts (ms): either may reach the trial first.
        fc.nat({ max: 25 }),
        fc.nat({ max: 25 }),
        async (other, declineDelay, otherDelay) => {
          round += 1;
          // Registering again clears the runner's declines and health: each round starts alike.
          expectStatus(await postRunner(test, runner.token, { name: 'racer' }), 201);
          const leased = expectStatus(await lease(test, runner, id), 200).body.trial;
          const trialId = String(leased.id);
          const evaluationsBefore = Number((await study(fleet, id)).evaluationCount);
          if (other === 'expiry sweep') {
            await db.query(`UPDATE trials SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [trialId]);
          }
          const [declined, answer] = await Promise.all([
            after(declineDelay).then(() => decline(runner, trialId, { reason: 'outside --data-root' })),
            after(otherDelay).then(() => others[other](trialId)),
          ]);
          const context = `round ${round} ${other}: decline ${declined.status} ${JSON.stringify(declined.body.code)}, ${other} ${answer.status} ${JSON.stringify(answer.body.code)}`;
          for (const response of [declined, answer]) assert.ok([200, 409].includes(response.status), context);
          const key = `${other}: decline ${declined.status} ${declined.body.code ?? ''} / ${answer.status} ${answer.body.code ?? ''}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);

          // The leased attempt ended once, by whichever call won.
          const leases = (await db.query(
            'SELECT outcome, ended_at FROM trial_leases WHERE trial_id = $1 AND attempt = $2',
            [trialId, leased.attempt],
          )) as { outcome: string; ended_at: Date | null }[];
          assert.equal(leases.length, 1, context);
          assert.notEqual(leases[0].ended_at, null, context);
          const row = await trial(fleet, trialId);
          const declines = await countRows(db, 'runner_study_declines WHERE runner_id = $1 AND study_id = $2', [
            runner.id,
            id,
          ]);
          const evaluations = Number((await study(fleet, id)).evaluationCount) - evaluationsBefore;
          const declineWon = declined.status === 200;
          if (other === 'complete' || other === 'fail' || other === 'runner failure') {
            // Exactly one of the two is the trial's outcome.
            assert.equal(declineWon, answer.status !== 200, context);
          } else if (other === 'expiry sweep') {
            // An expired lease not swept yet may still be given back; once swept, it is lost.
            assert.equal(declineWon, answer.body.code === '0', context);
            if (!declineWon) assert.equal(leases[0].outcome, 'expired', context);
          } else if (other === 'heartbeat' || other === 'decline') {
            // A heartbeat does not end the lease; the same decline twice is answered alike.
            assert.ok(declineWon, context);
          }
          assert.equal(declines, declineWon ? 1 : 0, context);
          if (declineWon) {
            assert.equal(leases[0].outcome, 'released', context);
            assert.equal(row.status, 'pending', context);
            assert.equal(row.attempt, Number(leased.attempt) + 1, context);
            assert.equal(evaluations, 0, `${context}: a decline spends no evaluation`);
          } else if (other === 'complete' || other === 'fail') {
            assert.equal(row.status, other === 'complete' ? 'completed' : 'failed', context);
            assert.equal(evaluations, 1, `${context}: counted once`);
          } else {
            assert.equal(row.status, 'pending', context);
            assert.equal(evaluations, 0, context);
          }
        },
      ),
      { numRuns: Number(process.env.MESHTUNE_PROPERTY_RUNS ?? 30) },
    );
    // Every finished trial counted once, and nothing else.
    const finished = await countRows(db, "trials WHERE study_id = $1 AND status IN ('completed', 'failed')", [id]);
    assert.equal(Number((await study(fleet, id)).evaluationCount), finished);
    console.log(JSON.stringify(Object.fromEntries([...seen.entries()].sort())));
  });

  it('a runner that declined a study is not one its trials wait for: a trial out of GPU memory that only it could hold fits no runner and fails once', async () => {
    const fleet = await createFleet(test, 'declines-memory');
    const id = await fleetStudy(test, fleet, {
      name: 'out of memory',
      // Two X0 points: a study whose every X0 point failed ends (x0_failed).
      x0: [
        { x: 2, y: 3 },
        { x: -1, y: 1 },
      ],
      budget: { maxEvaluations: 20, leaseSeconds: 600 },
    });
    const big = await newRunner(test, fleet.runnerKey, { name: 'big box', gpuMemoryMb: 81_920 });
    const small = await newRunner(test, fleet.runnerKey, { name: 'laptop', gpuMemoryMb: 24_576 });
    // The big box cannot run the study by its own settings, and says so.
    const first = expectStatus(await lease(test, big, id), 200).body.trial;
    expectStatus(await decline(big, String(first.id), { reason: 'trainData: outside --data-root' }), 200);
    // The laptop takes the same trial and runs out of memory: no runner that may lease the study
    // has more, so the trial is a failed evaluation (docs/architecture.md, "Runner capacity"),
    // not a pending trial waiting for the runner that declined the study.
    const taken = expectStatus(await lease(test, small, id), 200).body.trial;
    assert.equal(taken.id, first.id);
    const failed = expectStatus(
      await report(test, small, String(taken.id), 'fail', { kind: 'resource', error: 'CUDA out of memory' }),
      200,
    ).body;
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.match(String(failed.error), /does not fit any runner/);
    assert.equal((await study(fleet, id)).evaluationCount, 1, 'counted once');

    // Once the decline has expired the big box may lease the study again, and a trial out of
    // memory on the laptop waits for it, as for any live runner that fits.
    await db.query(
      `UPDATE runner_study_declines SET declined_at = declined_at - interval '2 hours' WHERE runner_id = $1`,
      [big.id],
    );
    const next = expectStatus(await lease(test, small, id), 200).body.trial;
    const waiting = expectStatus(
      await report(test, small, String(next.id), 'fail', { kind: 'resource', error: 'CUDA out of memory' }),
      200,
    ).body;
    assert.equal(waiting.status, 'pending', JSON.stringify(waiting));
    const resumed = expectStatus(await lease(test, big, id), 200).body.trial;
    assert.equal(resumed.id, next.id, 'the big box takes the trial that waited for it');
  });

  it('a hostile or odd reason is 400 naming reason, and nothing is written', async () => {
    const fleet = await createFleet(test, 'declines-hostile');
    const id = await fleetStudy(test, fleet, { name: 'hostile reasons', budget: { maxEvaluations: 5 } });
    const runner = await newRunner(test, fleet.runnerKey, { name: 'r' });
    const trialId = String(expectStatus(await lease(test, runner, id), 200).body.trial.id);
    const bad: unknown[] = [
      {},
      { reason: '' },
      { reason: '   ' },
      { reason: null },
      { reason: 42 },
      { reason: ['a'] },
      { reason: 'x'.repeat(1001) },
      { reason: 'red \u001b[31malert' },
      { reason: 'two\nlines' },
      { reason: 'evil\u202eoverride' },
      { reason: 'nul\u0000' },
      { reason: 'lone \ud800 surrogate' },
      { reason: '\udfff' },
      { reason: 'x'.repeat(1_000_000) },
      { reason: { nested: { deeper: ['x'] } } },
    ];
    for (const body of bad) {
      const started = Date.now();
      const refused = await decline(runner, trialId, body);
      // Refused quickly, whatever the width: a time budget per request, not a benchmark.
      assert.ok(Date.now() - started < 2_000, `${JSON.stringify(body).slice(0, 40)}: ${Date.now() - started} ms`);
      assert.equal(refused.status, 400, JSON.stringify(body).slice(0, 200));
      assert.equal(refused.body.code, 'VALIDATION_FAILED');
      assert.ok(
        JSON.stringify(refused.body).includes('reason'),
        `${JSON.stringify(body)}: ${JSON.stringify(refused.body)} should name reason`,
      );
    }
    const row = await trial(fleet, trialId);
    assert.equal(row.status, 'running');
    assert.equal(row.runnerId, runner.id);
    assert.equal(await countRows(db, 'runner_study_declines WHERE study_id = $1', [id]), 0);
    // A runner that does not hold the trial cannot decline it.
    const stranger = await newRunner(test, fleet.runnerKey, { name: 'stranger' });
    expectStatus(await decline(stranger, trialId, { reason: 'not mine' }), 403);
    expectStatus(await decline(runner, trialId, { reason: 'é ok — ünïcode reasons are fine' }), 200);
  });
});

/**
 * A decline lasts `MESHTUNE_RUNNER_DECLINE_MS` by the database's clock, whatever the API process's
 * clock says (docs/reliability.md, finding 54): the server runs with a 3 s expiry, and the API's
 * `Date` is moved an hour back or on while the runner declines and leases (node:test's mock
 * timers; PostgreSQL runs in its own process, on the real clock). With `declined_at` written by
 * the API's clock and read against PostgreSQL's `now()`, a decline made an hour behind had expired
 * before the next lease, and one made an hour ahead still held after its 3 s.
 */
describe('runner declines expire by the database clock', () => {
  const EXPIRY_MS = 3000;
  let test: TestServer;

  before(async () => {
    test = await startTestServer({ runnerDeclineExpiresAfterMs: EXPIRY_MS });
  });
  after(async () => test.close());

  for (const [label, skewMs] of [
    ['the same clock', 0],
    ["the API's clock an hour behind the database's", -3_600_000],
    ["the API's clock an hour ahead of the database's", 3_600_000],
  ] as const) {
    it(`a declined study is leased again by that runner after the expiry, not before (${label})`, async () => {
      const fleet = await createFleet(test, `declines-expiry-${skewMs}`);
      const studyId = await fleetStudy(test, fleet, { name: 'declined for a while', budget: { maxEvaluations: 5 } });
      const runner = await newRunner(test, fleet.runnerKey, { name: 'expiring' });
      const trialId = String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
      // Only Date is moved: the waits below (timers, performance.now) keep the real clock.
      mock.timers.enable({ apis: ['Date'], now: Date.now() + skewMs });
      try {
        expectStatus(
          await test.http
            .post(`/v1/trials/${trialId}/decline`)
            .set(...auth(runner.token))
            .send({ reason: 'trainData: outside this runner' }),
          200,
        );
        const declinedBy = performance.now();

        // At once and halfway through, neither lease gets the study: a named one is 409 saying until when.
        for (const waitMs of [0, EXPIRY_MS / 3]) {
          await sleep(waitMs);
          expectStatus(await lease(test, runner), 204);
          const named = expectStatus(await lease(test, runner, studyId), 409).body;
          assert.equal(named.code, 'RUNNER_DECLINED_STUDY');
          assert.equal(Date.parse(named.details.until) - Date.parse(named.details.declinedAt), EXPIRY_MS);
        }
        const listed = expectStatus(
          await test.http.get(`/v1/studies/${studyId}/runner-declines`).set(...auth(fleet.userKey)),
          200,
        ).body;
        assert.equal(listed.total, 1);
        assert.equal(Date.parse(listed.items[0].expiresAt) - Date.parse(listed.items[0].declinedAt), EXPIRY_MS);

        // Past the expiry (counted from the decline's answer, so surely past the database's
        // `declined_at`), the runner leases the study again, the same trial.
        await sleep(EXPIRY_MS + 200 - (performance.now() - declinedBy));
        assert.equal(
          expectStatus(await test.http.get(`/v1/studies/${studyId}/runner-declines`).set(...auth(fleet.userKey)), 200)
            .body.total,
          0,
        );
        const again = expectStatus(await lease(test, runner), 200).body;
        assert.equal(again.trial.id, trialId);
      } finally {
        mock.timers.reset();
      }
    });
  }
});
