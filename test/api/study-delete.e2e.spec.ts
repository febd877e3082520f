import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { auth, expectStatus, lease, report, type TestRunner } from '../support/api-client';
import { countRows, createFleet, type Fleet, fleetStudy, newRunner } from '../support/runner-fleet';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * A project's stored studies are bounded (docs/reliability.md, finding 27): a finished study can
 * be deleted with everything it owns, and a project stores at most `maxStoredStudies` studies of
 * every status.
 */
describe('deleting studies and the quota on stored studies', () => {
  let test: TestServer;
  let db: DataSource;

  before(async () => {
    test = await startTestServer();
    db = test.get(DataSource);
  });
  after(async () => test.close());

  const deleteStudy = (key: string, studyId: string) => test.http.delete(`/v1/studies/${studyId}`).set(...auth(key));
  const stopStudy = async (key: string, studyId: string) =>
    expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/stop`)
        .set(...auth(key))
        .send({}),
      200,
    );

  /**
   * Rows of every table that names the study (a `study_id` column) or one of its trials (a
   * `trial_id` column), found in the catalog so that a table added later is counted too.
   */
  async function ownedRows(studyId: string, trialIds: string[]): Promise<Record<string, number>> {
    const columns = (await db.query(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name IN ('study_id', 'trial_id')`,
    )) as { table_name: string; column_name: string }[];
    const counts: Record<string, number> = {
      studies: await countRows(db, 'studies WHERE id = $1', [studyId]),
    };
    for (const { table_name: table, column_name: column } of columns) {
      counts[`${table}.${column}`] =
        column === 'study_id'
          ? await countRows(db, `"${table}" WHERE study_id = $1`, [studyId])
          : await countRows(db, `"${table}" WHERE trial_id = ANY($1::uuid[])`, [trialIds]);
    }
    return counts;
  }

  /** A study of `fleet` with `finished` trials completed (metrics, leases, engine events) and `running` still leased. */
  async function studyWithHistory(
    fleet: Fleet,
    runner: TestRunner,
    finished: number,
    running: number,
  ): Promise<{ studyId: string; trialIds: string[]; runningIds: string[] }> {
    const studyId = await fleetStudy(test, fleet, {
      name: 'history',
      budget: { maxEvaluations: 50, maxParallelTrials: 10, leaseSeconds: 600 },
    });
    const trialIds: string[] = [];
    for (let i = 0; i < finished; i += 1) {
      const trialId = String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
      trialIds.push(trialId);
      const metrics = [{ name: 'loss', step: 1, value: 1 / (i + 1) }];
      // With GPU-seconds, so that the study's running total (study_gpu_usage) has its row too.
      expectStatus(await report(test, runner, trialId, 'heartbeat', { progress: 0.5, metrics, gpuSeconds: 1 }), 200);
      expectStatus(await report(test, runner, trialId, 'complete', { outputs: { loss: i } }), 200);
    }
    const runningIds: string[] = [];
    for (let i = 0; i < running; i += 1) {
      runningIds.push(String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id));
    }
    return { studyId, trialIds: [...trialIds, ...runningIds], runningIds };
  }

  it('deletes a stopped study with every row it owns (204, then 404), and leaves other studies whole', async () => {
    const fleet = await createFleet(test, 'delete-cascade');
    const runner = await newRunner(test, fleet.runnerKey, { name: 'r', maxConcurrentTrials: 8 });
    const doomed = await studyWithHistory(fleet, runner, 5, 2);
    const kept = await studyWithHistory(fleet, runner, 3, 0);
    // A runner that cannot run the doomed study declines one of its trials (runner_study_declines).
    const decliner = await newRunner(test, fleet.runnerKey, { name: 'decliner' });
    const declined = String(expectStatus(await lease(test, decliner, doomed.studyId), 200).body.trial.id);
    expectStatus(await report(test, decliner, declined, 'decline', { reason: 'no such folder here' }), 200);
    await stopStudy(fleet.userKey, doomed.studyId);

    const before = await ownedRows(doomed.studyId, doomed.trialIds);
    // Every table that can hold the study's rows holds some: the check below can fail.
    for (const [table, count] of Object.entries(before)) assert.ok(count > 0, `${table}: ${count} rows before`);
    const keptBefore = await ownedRows(kept.studyId, kept.trialIds);

    expectStatus(await deleteStudy(fleet.userKey, doomed.studyId), 204);
    const afterDelete = await ownedRows(doomed.studyId, doomed.trialIds);
    for (const [table, count] of Object.entries(afterDelete)) assert.equal(count, 0, `${table} after the delete`);
    assert.deepEqual(await ownedRows(kept.studyId, kept.trialIds), keptBefore);

    const gone = expectStatus(await test.http.get(`/v1/studies/${doomed.studyId}`).set(...auth(fleet.userKey)), 404);
    assert.equal(gone.body.code, 'STUDY_NOT_FOUND');
    assert.equal(expectStatus(await deleteStudy(fleet.userKey, doomed.studyId), 404).body.code, 'STUDY_NOT_FOUND');
    // The runner that still held two leases of it is told the trials are gone, as of any missing trial.
    for (const trialId of doomed.runningIds) {
      for (const action of ['heartbeat', 'complete', 'fail', 'release'] as const) {
        const body = action === 'complete' ? { outputs: { loss: 1 } } : action === 'fail' ? { error: 'x' } : {};
        const answer = await report(test, runner, trialId, action, body);
        assert.equal(answer.status, 404, `${action}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.code, 'TRIAL_NOT_FOUND');
      }
    }
    // The kept study still runs: its runner leases it.
    expectStatus(await lease(test, runner, kept.studyId), 200);
  });

  it('refuses an active or paused study with 409 STUDY_NOT_FINISHED naming its status, and deletes nothing', async () => {
    const fleet = await createFleet(test, 'delete-active');
    const runner = await newRunner(test, fleet.runnerKey, { name: 'r' });
    const { studyId, trialIds } = await studyWithHistory(fleet, runner, 2, 1);
    const before = await ownedRows(studyId, trialIds);
    for (const status of ['active', 'paused'] as const) {
      if (status === 'paused') {
        expectStatus(
          await test.http
            .post(`/v1/studies/${studyId}/pause`)
            .set(...auth(fleet.userKey))
            .send({}),
          200,
        );
      }
      const refused = expectStatus(await deleteStudy(fleet.userKey, studyId), 409).body;
      assert.equal(refused.code, 'STUDY_NOT_FINISHED');
      assert.equal(refused.details.status, status);
      assert.match(refused.message, new RegExp(`a ${status} study cannot be deleted; stop it first`));
      assert.deepEqual(await ownedRows(studyId, trialIds), before);
    }
  });

  it("answers 404 for another project's study, as for one that does not exist, and deletes nothing", async () => {
    const owner = await createFleet(test, 'delete-owner');
    const other = await createFleet(test, 'delete-other');
    const studyId = await fleetStudy(test, owner, { name: 'theirs' });
    await stopStudy(owner.userKey, studyId);
    for (const key of [other.userKey, other.runnerKey, owner.runnerKey]) {
      const answer = await deleteStudy(key, studyId);
      assert.ok([403, 404].includes(answer.status), `${answer.status} ${JSON.stringify(answer.body)}`);
    }
    assert.equal(expectStatus(await deleteStudy(other.userKey, studyId), 404).body.code, 'STUDY_NOT_FOUND');
    assert.equal(await countRows(db, 'studies WHERE id = $1', [studyId]), 1);
    // Its own project's user key may, and so may an admin key (here: after the owner's stop).
    expectStatus(await deleteStudy(owner.userKey, studyId), 204);
    const adminOnes = await fleetStudy(test, owner, { name: 'admin deletes' });
    await stopStudy(owner.userKey, adminOnes);
    expectStatus(await deleteStudy(test.adminKey, adminOnes), 204);
  });

  it('refuses a study past maxStoredStudies (every status counts) with 409 naming the quota; a delete frees room', async () => {
    const fleet = await createFleet(test, 'stored-quota', { maxStoredStudies: 2 });
    // The project as its own user key lists it (GET /v1/projects shows a user key its own project).
    const project = async () =>
      expectStatus(await test.http.get('/v1/projects').set(...auth(fleet.userKey)), 200).body.items[0] as {
        maxStoredStudies: number;
        storedStudies: number;
      };
    assert.equal((await project()).maxStoredStudies, 2);
    const first = await fleetStudy(test, fleet, { name: 'one' });
    await fleetStudy(test, fleet, { name: 'two' });
    await stopStudy(fleet.userKey, first); // stopped studies are stored all the same
    const create = () =>
      test.http
        .post('/v1/studies')
        .set(...auth(fleet.userKey))
        .send({
          name: 'three',
          parameters: [{ name: 'x', type: 'real', lower: 0, upper: 1 }],
          outputs: [{ name: 'loss', type: 'objective' }],
          budget: { maxEvaluations: 5 },
          algorithm: { name: 'random' },
        });
    const refused = expectStatus(await create(), 409).body;
    assert.equal(refused.code, 'PROJECT_QUOTA_EXCEEDED');
    assert.deepEqual(refused.details, { quota: 'maxStoredStudies', limit: 2, current: 2, projectId: fleet.projectId });
    assert.match(refused.message, /maxStoredStudies/);
    assert.equal((await project()).storedStudies, 2);

    expectStatus(await deleteStudy(fleet.userKey, first), 204);
    assert.equal((await project()).storedStudies, 1);
    expectStatus(await create(), 201);
    expectStatus(await create(), 409);
    // An admin raises the quota: room again. Null or 0 is refused (the table stays bounded), and
    // so is anything that is not an integer from 1 to 1,000,000 (the DTO's MAX_QUOTA).
    for (const bad of [null, 0, 1.5, -1, 1_000_001, 1e308, '2', true, [2], { n: 2 }, 'x\u0000', '\ud800']) {
      const answer = await test.http
        .patch(`/v1/projects/${fleet.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxStoredStudies: bad });
      assert.equal(answer.status, 400, `maxStoredStudies ${JSON.stringify(bad)}`);
      assert.equal(answer.body.details[0].field, 'maxStoredStudies');
    }
    expectStatus(
      await test.http
        .patch(`/v1/projects/${fleet.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxStoredStudies: 3 }),
      200,
    );
    expectStatus(await create(), 201);
    // Concurrent creations at the edge: exactly the room left is granted.
    expectStatus(
      await test.http
        .patch(`/v1/projects/${fleet.projectId}`)
        .set(...auth(test.adminKey))
        .send({ maxStoredStudies: 6 }),
      200,
    );
    const raced = await Promise.all(Array.from({ length: 8 }, () => create()));
    assert.deepEqual(raced.map((answer) => answer.status).sort(), [201, 201, 201, 409, 409, 409, 409, 409]);
    assert.equal(await countRows(db, 'studies WHERE project_id = $1', [fleet.projectId]), 6);
  });

  it('a delete racing stops, reports, heartbeats, leases and reads of the same study never answers 5xx and leaves no orphan', async () => {
    const fleet = await createFleet(test, 'delete-races');
    const runner = await newRunner(test, fleet.runnerKey, { name: 'r', maxConcurrentTrials: 64 });
    const seen = new Map<string, number>();
    const after = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        // When each call starts (ms), so that the delete lands before, among and after the others.
        fc.array(fc.nat({ max: 40 }), { minLength: 10, maxLength: 10 }),
        async (stoppedFirst, delays) => {
          round += 1;
          const { studyId, trialIds, runningIds } = await studyWithHistory(fleet, runner, 1, 4);
          // Otherwise the stop races the delete too (the delete then answers 409 or 204).
          if (stoppedFirst) await stopStudy(fleet.userKey, studyId);
          const [a, b, c, d] = runningIds;
          const calls: [string, () => Promise<{ status: number; body: { code?: string } }>][] = [
            [
              'stop',
              async () =>
                test.http
                  .post(`/v1/studies/${studyId}/stop`)
                  .set(...auth(fleet.userKey))
                  .send({}),
            ],
            ['delete', async () => deleteStudy(fleet.userKey, studyId)],
            [
              'heartbeat',
              () => report(test, runner, a, 'heartbeat', { metrics: [{ name: 'loss', step: 2, value: 1 }] }),
            ],
            ['complete', () => report(test, runner, b, 'complete', { outputs: { loss: 2 } })],
            ['fail', () => report(test, runner, c, 'fail', { error: 'oom' })],
            ['release', () => report(test, runner, d, 'release')],
            ['lease', () => lease(test, runner, studyId)],
            ['get', async () => test.http.get(`/v1/studies/${studyId}`).set(...auth(fleet.userKey))],
            ['trials', async () => test.http.get(`/v1/studies/${studyId}/trials`).set(...auth(fleet.userKey))],
            ['delete again', async () => deleteStudy(fleet.userKey, studyId)],
          ];
          const answers = await Promise.all(
            calls.map(async ([name, call], index) => {
              await after(delays[index]);
              return [name, await call()] as const;
            }),
          );
          for (const [name, answer] of answers) {
            assert.ok(answer.status < 500, `round ${round} ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
            const key = `${name} ${answer.status}${answer.body?.code ? ` ${answer.body.code}` : ''}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }
          // Whatever the order, the study ends deleted (stopping it first where a delete came too early).
          const deleted = answers.some(([name, answer]) => name.startsWith('delete') && answer.status === 204);
          if (!deleted) {
            await stopStudy(fleet.userKey, studyId);
            expectStatus(await deleteStudy(fleet.userKey, studyId), 204);
          }
          // Nothing a racing call wrote outlived the study: a late metric, lease or trial would show here.
          const leftovers = await ownedRows(studyId, trialIds);
          for (const [table, count] of Object.entries(leftovers)) assert.equal(count, 0, `round ${round}: ${table}`);
          const orphans = await countRows(
            db,
            'trials t WHERE NOT EXISTS (SELECT 1 FROM studies s WHERE s.id = t.study_id)',
            [],
          );
          assert.equal(orphans, 0);
        },
      ),
      { numRuns: Number(process.env.MESHTUNE_PROPERTY_RUNS ?? 15) },
    );
    // What the calls answered, for the record (each a 2xx, 404 or 409).
    console.log(JSON.stringify(Object.fromEntries([...seen.entries()].sort())));
  });
});
