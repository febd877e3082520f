import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { auth, expectStatus, lease, report } from '../support/api-client';
import { LeaseSweeper } from '../../api/src/trials/lease-sweeper';
import { countRows, createFleet, fleetStudy, newRunner, postRunner } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Red-team probes of runner slots and the project quota on runners (docs/reliability.md, finding
 * 13 and finding 14): what a runner key, a runner token or a user key can do to the quota, and how
 * reclamation treats a runner that is working.
 */
describe('runner slots and quotas against hostile callers', () => {
  let test: TestServer;
  let db: DataSource;

  before(async () => {
    test = await startTestServer();
    db = test.get(DataSource);
  });
  after(async () => test.close());

  const unseenFor = (runnerId: string, minutes: number) =>
    db.query(`UPDATE runners SET last_seen_at = now() - make_interval(mins => $2) WHERE id = $1`, [runnerId, minutes]);

  it('a runner that has just reported a long trial is not reclaimed; the runner that is really gone is', async () => {
    const team = await createFleet(test, 'reclaim-worker', { maxRunners: 2 });
    const study = await fleetStudy(test, team, { name: 'long', budget: { maxEvaluations: 10 } });
    const worker = await newRunner(test, team.runnerKey, { name: 'worker', maxConcurrentTrials: 1 });
    const gone = await newRunner(test, team.runnerKey, { name: 'gone', maxConcurrentTrials: 1 });
    const trial = expectStatus(await lease(test, worker, study), 200).body.trial.id as string;
    // An hour of training: the worker was last *seen* (lease, runner heartbeat) when it leased, and
    // heartbeat its trial since (which does not touch the runner's row); the other runner died
    // twenty minutes ago.
    await unseenFor(worker.id, 60);
    await unseenFor(gone.id, 20);
    expectStatus(await report(test, worker, trial, 'heartbeat', { progress: 0.99 }), 200);
    expectStatus(await report(test, worker, trial, 'complete', { outputs: { loss: 1 } }), 200);
    // A newcomer at the quota: the dead runner makes room, never the one that reported a moment ago.
    const newcomer = await newRunner(test, team.runnerKey, { name: 'newcomer' });
    assert.equal(
      await countRows(db, 'runners WHERE id = $1', [gone.id]),
      0,
      'the runner gone for 20 minutes is reclaimed',
    );
    assert.equal(
      await countRows(db, 'runners WHERE id = $1', [worker.id]),
      1,
      'the runner that has just reported stays',
    );
    assert.ok([200, 204].includes((await lease(test, worker, study)).status), "the worker's token still leases");
    // Now only the worker (heard from by its report) and the fresh newcomer: a registration is refused.
    const refused = await postRunner(test, team.runnerKey, { name: 'late' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'PROJECT_QUOTA_EXCEEDED');
    assert.equal(await countRows(db, 'runners WHERE id = ANY($1::uuid[])', [[worker.id, newcomer.id]]), 2);
  });

  it('a runner token cannot raise its slots past 256, nor register a second runner past the quota', async () => {
    const team = await createFleet(test, 'token-reregister', { maxRunners: 1 });
    const only = await newRunner(test, team.runnerKey, { name: 'only', maxConcurrentTrials: 1 });
    for (const bad of [257, 1e9, 2 ** 31, -1, 0]) {
      const refused = await postRunner(test, only.token, { name: 'only', maxConcurrentTrials: bad });
      assert.equal(refused.status, 400, `maxConcurrentTrials ${bad}`);
    }
    const top = expectStatus(await postRunner(test, only.token, { name: 'only', maxConcurrentTrials: 256 }), 201).body;
    assert.equal(top.id, only.id, 'the token updates its own runner');
    // Registering again with the token, in a loop, never adds a runner.
    const again = await Promise.all(Array.from({ length: 20 }, () => postRunner(test, only.token, { name: 'only' })));
    assert.ok(again.every((answer) => answer.status === 201 && answer.body.id === only.id));
    assert.equal(await countRows(db, 'runners WHERE project_id = $1', [team.projectId]), 1);
    assert.equal(await countRows(db, 'api_keys WHERE runner_id = $1', [only.id]), 1, 'and no second token');
    const refused = await postRunner(test, team.runnerKey, { name: 'second' });
    assert.equal(refused.status, 409);
  });

  it('a user key cannot change its project quotas; an admin can lower maxRunners below the count, and nothing is removed', async () => {
    const team = await createFleet(test, 'quota-patch', { maxRunners: 3 });
    const runners = await Promise.all([0, 1, 2].map((i) => newRunner(test, team.runnerKey, { name: `r${i}` })));
    for (const key of [team.userKey, team.runnerKey, runners[0].token]) {
      const refused = await test.http
        .patch(`/v1/projects/${team.projectId}`)
        .set(...auth(key))
        .send({ maxRunners: 1000 });
      assert.equal(refused.status, 403);
    }
    for (const bad of [null, 0, -1, 1.5, '5']) {
      const refused = await test.http
        .patch(`/v1/projects/${team.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxRunners: bad });
      assert.equal(refused.status, 400, `maxRunners ${JSON.stringify(bad)}`);
    }
    const lowered = expectStatus(
      await test.http
        .patch(`/v1/projects/${team.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxRunners: 1 }),
      200,
    ).body;
    assert.equal(lowered.maxRunners, 1);
    assert.equal(lowered.runners, 3);
    // The runners above the lowered quota stay and keep leasing; a new one is refused.
    const study = await fleetStudy(test, team, { name: 'after-patch' });
    for (const r of runners) expectStatus(await lease(test, r, study), 200);
    assert.equal((await postRunner(test, team.runnerKey, { name: 'fourth' })).status, 409);
  });

  it('a runner that leases and lets its leases lapse stays one runner with its slots; it cannot be reclaimed while it holds one', async () => {
    const team = await createFleet(test, 'lapse', { maxRunners: 1 });
    const study = await fleetStudy(test, team, {
      name: 'lapse',
      budget: { maxEvaluations: 50, maxAttempts: 50, leaseSeconds: 60 },
    });
    const hoarder = await newRunner(test, team.runnerKey, { name: 'hoarder', maxConcurrentTrials: 2 });
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => lease(test, hoarder, study)));
      const granted = answers.filter((answer) => answer.status === 200).length;
      assert.equal(granted, 2, `round ${round}: exactly its 2 slots`);
      assert.equal(await countRows(db, "trials WHERE runner_id = $1 AND status = 'running'", [hoarder.id]), 2);
      // Its leases expire (as if it stopped heartbeating) and it is not heard from for an hour:
      // while the expired leases are not swept back they are still its, so it is not reclaimable.
      await unseenFor(hoarder.id, 60);
      assert.equal((await postRunner(test, team.runnerKey, { name: 'taker' })).status, 409);
      await test.server.app.get(LeaseSweeper).sweep(new Date(Date.now() + 3_600_000));
      assert.equal(await countRows(db, "trials WHERE runner_id = $1 AND status = 'running'", [hoarder.id]), 0);
    }
    assert.equal(await countRows(db, 'runners WHERE project_id = $1', [team.projectId]), 1);
  });
  it("registrations reclaiming stale runners race those runners' own leases: no trial leased to a deleted runner, no 5xx", async () => {
    for (const algorithm of ['random', 'mads']) {
      const team = await createFleet(test, `reclaim-vs-lease-${algorithm}`, { maxRunners: 12 });
      const study = await fleetStudy(test, team, {
        name: 'race',
        budget: { maxEvaluations: 400, maxAttempts: 2, leaseSeconds: 60 },
        algorithm: { name: algorithm, seed: 3 },
      });
      const old = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          newRunner(test, team.runnerKey, { name: `old-${i}`, maxConcurrentTrials: 2 }),
        ),
      );
      await db.query(`UPDATE runners SET last_seen_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])`, [
        old.map((r) => r.id),
      ]);
      const leases = old.flatMap((r) => [lease(test, r, study), lease(test, r)]);
      const registrations = Array.from({ length: 12 }, (_, i) =>
        postRunner(test, team.runnerKey, { name: `new-${i}` }),
      );
      const [leased, registered] = await Promise.all([Promise.all(leases), Promise.all(registrations)]);
      for (const answer of [...leased, ...registered]) {
        assert.ok(answer.status < 500, `${answer.status} ${JSON.stringify(answer.body)}`);
      }
      const granted = leased.filter((answer) => answer.status === 200);
      for (const answer of granted) {
        const owner = answer.body.trial.runnerId as string;
        assert.equal(
          await countRows(db, 'runners WHERE id = $1', [owner]),
          1,
          'a runner granted a lease is never reclaimed',
        );
      }
      assert.equal(
        await countRows(
          db,
          `trials t WHERE t.study_id = $1 AND t.status = 'running'
             AND (t.runner_id IS NULL OR NOT EXISTS (SELECT 1 FROM runners r WHERE r.id = t.runner_id))`,
          [study],
        ),
        0,
        'no running trial without its runner',
      );
      assert.equal(await countRows(db, "trials WHERE study_id = $1 AND status = 'running'", [study]), granted.length);
      const reclaimed = registered.filter((answer) => answer.status === 201).length;
      assert.equal(await countRows(db, 'runners WHERE project_id = $1', [team.projectId]), 12, 'the quota holds');
      assert.equal(await countRows(db, 'runners WHERE id = ANY($1::uuid[])', [old.map((r) => r.id)]), 12 - reclaimed);
    }
  });
});
