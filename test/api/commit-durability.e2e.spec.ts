import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../../api/src/database/prepared-query';
import { RELAXED_COMMIT } from '../../api/src/database/relaxed-commit';
import { startTestServer, type TestServer } from '../support/test-server';

describe('commit durability: relaxed for heartbeats and lease grants, synchronous for everything after', () => {
  let test: TestServer;
  let dataSource: DataSource;

  before(async () => {
    test = await startTestServer();
    dataSource = test.get(DataSource);
  });
  after(() => test.close());

  it("turns synchronous commit off inside its statement only, never for the connection's next statements", async () => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [inside] = await preparedQuery<{ setting: string; matched: number | null }>(
        runner.manager,
        {
          name: 'test-relaxed-commit',
          text: `SELECT current_setting('synchronous_commit') AS setting, nothing.n AS matched
                   FROM ${RELAXED_COMMIT} LEFT JOIN (SELECT 1 AS n WHERE false) AS nothing ON true`,
        },
        [],
      );
      // Applied even though the joined side matched nothing (the outer side of the join is always read).
      assert.deepEqual(inside, { setting: 'off', matched: null });
      const [after] = (await runner.query('SHOW synchronous_commit')) as { synchronous_commit: string }[];
      assert.equal(
        after.synchronous_commit,
        'on',
        'a report on this pooled connection must still commit synchronously',
      );
    } finally {
      await runner.release();
    }
  });
});
