import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource, type QueryRunner } from 'typeorm';
import {
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a report that is one statement outside any transaction, chosen by PostgreSQL as the victim
 * of a lock cycle with a concurrent transaction (docs/reliability.md, finding 71; found by the
 * trial-protocol model fuzz's concurrent batches: a heartbeat or a failure beside two sweeps of the
 * same trial was answered 500 "deadlock detected"). Transactions were run again on a deadlock
 * (`inTransaction`), the one-statement fast paths were not. Here the cycle is made on purpose:
 * another transaction holds the row the statement will need second (a stored metric point for the
 * heartbeat, the lease row for the completion), waits until the statement holds the trial row and
 * waits on it, then asks for the trial row itself. The statement waited first, so its deadlock check
 * (PostgreSQL's deadlock_timeout, 1 s) finds the cycle first and it is the victim; the report must
 * still be answered as if nothing happened, and stored once.
 */
describe('a report chosen as a deadlock victim', { timeout: 120_000 }, () => {
  let test: TestServer;
  let runner: TestRunner;
  let studyId: string;

  before(async () => {
    test = await startTestServer();
    const userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'));
    studyId = String(
      (
        await createStudy(
          test,
          userKey,
          quadraticStudy({ budget: { maxEvaluations: 10, maxAttempts: 2, leaseSeconds: 600 } }),
        )
      ).id,
    );
  });
  after(() => test.close());

  /** Waits until a statement starting with `prefix` waits on a row lock (another connection's). */
  async function untilWaiting(probe: QueryRunner, prefix: string): Promise<void> {
    for (let tries = 0; tries < 500; tries += 1) {
      const [row] = (await probe.query(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND left(ltrim(query), $1) = $2`,
        [prefix.length, prefix],
      )) as { waiting: number }[];
      if (row.waiting > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no statement "${prefix}" waited on a lock`);
  }

  const cases: {
    name: string;
    statement: string;
    /** Locks the row the statement takes second. */
    holdSecond: string;
    send: (trialId: string) => Promise<{ status: number; text: string }>;
    stored: (trialId: string) => Promise<void>;
  }[] = [
    {
      name: 'heartbeat re-sending a stored point',
      statement: 'WITH beat AS',
      holdSecond: `SELECT 1 FROM trial_metrics WHERE trial_id = $1 FOR UPDATE`,
      send: (trialId) =>
        report(test, runner, trialId, 'heartbeat', {
          progress: 0.5,
          gpuSeconds: 20,
          metrics: [{ name: 'loss', step: 1, value: 7 }],
        }),
      stored: async (trialId) => {
        const [row] = (await test
          .get(DataSource)
          .query(
            `SELECT t.gpu_seconds::float8 AS gpu, m.value FROM trials t JOIN trial_metrics m ON m.trial_id = t.id WHERE t.id = $1`,
            [trialId],
          )) as { gpu: number; value: number }[];
        assert.deepEqual(row, { gpu: 20, value: 7 });
      },
    },
    {
      name: 'completion',
      statement: 'WITH target AS',
      holdSecond: `SELECT 1 FROM trial_leases WHERE trial_id = $1 FOR UPDATE`,
      send: (trialId) => report(test, runner, trialId, 'complete', { outputs: { loss: 3 }, gpuSeconds: 30 }),
      stored: async (trialId) => {
        const [row] = (await test
          .get(DataSource)
          .query(
            `SELECT status, gpu_seconds::float8 AS gpu, (SELECT count(*)::int FROM trial_leases WHERE trial_id = $1 AND ended_at IS NOT NULL) AS ended FROM trials WHERE id = $1`,
            [trialId],
          )) as { status: string; gpu: number; ended: number }[];
        assert.deepEqual(row, { status: 'completed', gpu: 30, ended: 1 });
      },
    },
  ];

  for (const { name, statement, holdSecond, send, stored } of cases) {
    it(`${name}: answered 200 and stored once`, async () => {
      const trialId = String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
      // A stored point for the heartbeat to write again (ON CONFLICT: a lock on that row).
      expectStatus(
        await report(test, runner, trialId, 'heartbeat', {
          progress: 0.1,
          gpuSeconds: 10,
          metrics: [{ name: 'loss', step: 1, value: 9 }],
        }),
        200,
      );
      const other = test.get(DataSource).createQueryRunner();
      const probe = test.get(DataSource).createQueryRunner();
      try {
        await other.connect();
        await other.startTransaction();
        await other.query(holdSecond, [trialId]);
        const answer = send(trialId);
        await untilWaiting(probe, statement);
        // The cycle: the statement holds the trial row and waits on ours; we ask for the trial row.
        await other.query(`SELECT 1 FROM trials WHERE id = $1 FOR UPDATE`, [trialId]);
        await other.commitTransaction();
        const answered = await answer;
        assert.equal(answered.status, 200, answered.text);
      } finally {
        if (other.isTransactionActive) await other.rollbackTransaction();
        await other.release();
        await probe.release();
      }
      await stored(trialId);
    });
  }
});
