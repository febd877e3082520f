import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auth, createKey, expectStatus, registerRunner } from '../support/api-client';
import { runUntilDone } from '../support/simulated-runner';
import { startTestServer, type TestServer } from '../support/test-server';

const fixture = (name: string): string => readFileSync(join(process.cwd(), 'test/fixtures', name), 'utf8');

describe('NOMAD cache file import (warm start)', () => {
  let test: TestServer;
  let userKey: string;
  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(async () => test.close());

  it('turns cached evaluations into finished trials that MADS never suggests again', async () => {
    const imported = expectStatus(
      await test.http
        .post('/v1/studies/import/nomad')
        .set(...auth(userKey))
        .send({
          name: 'p6 warm start',
          parameterFile: fixture('nomad-p6-param.txt').replace('MAX_BB_EVAL 12', 'MAX_BB_EVAL 30'),
        }),
      201,
    ).body;
    assert.deepEqual(imported.ignoredKeywords, [
      'BB_EXE',
      'HISTORY_FILE',
      'SOLUTION_FILE',
      'CACHE_FILE',
      'STATS_FILE',
      'DISPLAY_DEGREE',
    ]);
    const studyId = String(imported.study.id);
    const cache = fixture('nomad-p6-cache.txt');
    const result = expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/import/nomad-cache`)
        .set(...auth(userKey))
        .send({ cacheFile: cache }),
      201,
    ).body;
    assert.deepEqual(result, { imported: 12, skipped: 0 });
    const again = expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/import/nomad-cache`)
        .set(...auth(userKey))
        .send({ cacheFile: cache }),
      201,
    ).body;
    assert.deepEqual(again, { imported: 0, skipped: 12 });

    const best = expectStatus(await test.http.get(`/v1/studies/${studyId}/best`).set(...auth(userKey)), 200).body;
    assert.deepEqual(best.point, [-0.32, 0, -0.59]);
    assert.equal(best.origin, 'import');

    const cachedPoints = new Set(
      (
        expectStatus(await test.http.get(`/v1/studies/${studyId}/trials?limit=100`).set(...auth(userKey)), 200).body
          .items as { point: number[] }[]
      ).map((trial) => JSON.stringify(trial.point)),
    );
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    const log = await runUntilDone(test, runner, studyId, (p) => {
      const [x, y, z] = [p.x1 as number, p.x2 as number, p.x3 as number];
      return { obj: x * x + y * y + z * z + 0.5, pb1: x + y - 1, extra1: 42 };
    });
    assert.equal(log.evaluated.length, 30 - 12, 'imported evaluations count in the budget');
    for (const entry of log.evaluated)
      assert.ok(!cachedPoints.has(JSON.stringify(entry.point)), `re-suggested ${JSON.stringify(entry.point)}`);
  });

  it('rejects a cache whose points do not fit the study, writing nothing', async () => {
    const imported = expectStatus(
      await test.http
        .post('/v1/studies/import/nomad')
        .set(...auth(userKey))
        .send({ name: 'p6', parameterFile: fixture('nomad-p6-param.txt') }),
      201,
    ).body;
    const studyId = String(imported.study.id);
    const response = expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/import/nomad-cache`)
        .set(...auth(userKey))
        .send({ cacheFile: '( 0.5 1 ) BB_EVAL_OK ( 1 0 42 )\n( 9 1 0.5 ) BB_EVAL_OK ( 1 0 42 )\n' }),
      400,
    ).body;
    assert.deepEqual(
      response.details.map((detail: { field: string }) => detail.field),
      ['cacheFile line 1', 'cacheFile line 2'],
    );
    const trials = expectStatus(await test.http.get(`/v1/studies/${studyId}/trials`).set(...auth(userKey)), 200).body;
    assert.equal(trials.total, 0);
  });
});
