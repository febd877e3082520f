import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { auth, createKey, enqueuePoint, expectStatus, lease, registerRunner, report } from '../support/api-client';
import { MAX_CACHE_ENTRIES } from '../../api/src/studies/nomad/nomad-cache-file';
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
    const importCache = async () =>
      expectStatus(
        await test.http
          .post(`/v1/studies/${studyId}/import/nomad-cache`)
          .set(...auth(userKey))
          .send({ cacheFile: cache }),
        201,
      ).body;
    assert.deepEqual(await importCache(), { imported: 12, skipped: 0 });
    // The same file again: every evaluation is already there.
    assert.deepEqual(await importCache(), { imported: 0, skipped: 12 });

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
  const p6Study = async (maxEvaluations = 12): Promise<string> =>
    String(
      expectStatus(
        await test.http
          .post('/v1/studies/import/nomad')
          .set(...auth(userKey))
          .send({
            name: 'p6',
            parameterFile: fixture('nomad-p6-param.txt').replace('MAX_BB_EVAL 12', `MAX_BB_EVAL ${maxEvaluations}`),
          }),
        201,
      ).body.study.id,
    );
  const importCache = (studyId: string, cacheFile: string) =>
    test.http
      .post(`/v1/studies/${studyId}/import/nomad-cache`)
      .set(...auth(userKey))
      .send({ cacheFile });

  it('a line of 200,000 spaces is a 400 naming the line (a regular expression took 16.7 s on it; bench:hostile times it)', async () => {
    const studyId = await p6Study();
    for (const line of [
      `(${' '.repeat(200_000)}a`,
      `( 1 1 1 ${' '.repeat(200_000)}`,
      `(${' '.repeat(200_000)}) BB_EVAL_OK (`,
    ]) {
      const response = expectStatus(await importCache(studyId, line), 400).body;
      assert.equal(response.details[0].field, 'cacheFile line 1');
    }
  });

  it('refuses points off the grid, fixed values changed, and non-finite outputs (-Infinity was a 500)', async () => {
    const studyId = await p6Study();
    // p6: x1 real, x2 integer, x3 real, all in [-5, 5]; outputs OBJ PB EXTRA_O.
    const cases: [string, RegExp][] = [
      ['( 0.5 1.5 0.5 ) BB_EVAL_OK ( 1 0 42 )', /coordinate 2 must be an integer/],
      ['( 0.5 1 0.5 ) BB_EVAL_OK ( -Infinity 0 42 )', /finite outputs/],
      ['( 0.5 1 0.5 ) BB_EVAL_OK ( 1 inf 42 )', /finite outputs/],
      ['( 0.5 1 0.5 ) BB_EVAL_OK ( 1 0 NaN )', /finite outputs/],
      ['( 0.5 1 Infinity ) BB_EVAL_OK ( 1 0 42 )', /finite coordinates/],
    ];
    for (const [line, reason] of cases) {
      const response = expectStatus(await importCache(studyId, line), 400).body;
      assert.match(response.details[0].reason, reason, line);
    }
    const trials = expectStatus(await test.http.get(`/v1/studies/${studyId}/trials`).set(...auth(userKey)), 200).body;
    assert.equal(trials.total, 0);
  });

  // Finding 59: a line NOMAD never writes (a status outside its list, a number in a notation its
  // output never uses) was read in silence: `( 0.5 1 0.5 ) BB_EVAL_0K ( 1 0 42 )` (a zero for an O)
  // skipped as if it were a point not yet evaluated, 201 `imported: 0`; `0x1` read as 1.
  it('a line NOMAD never writes (unknown status, a number not in decimal notation): 400 naming the line, nothing written', async () => {
    const studyId = await p6Study();
    const good = '( 0.5 1 0.5 ) BB_EVAL_OK ( 1 0 42 )';
    const cases: [string, RegExp][] = [
      ['( 0.5 1 0.5 ) BB_EVAL_0K ( 1 0 42 )', /status/],
      ['( 0.5 1 0.5 ) bb_eval_ok ( 1 0 42 )', /status/],
      ['( 0.5 1 0.5 ) EVAL_OK ( 1 0 42 )', /status/],
      ['( 0.5 1 0.5 ) WHATEVER ( 1 0 42 )', /status/],
      ['( 0.5 1 0.5 ) BB_EVAL_OK\u2028 ( 1 0 42 )', /status/],
      ['( 0.5 0x1 0.5 ) BB_EVAL_OK ( 1 0 42 )', /decimal/],
      ['( 0.5 0b1 0.5 ) BB_EVAL_OK ( 1 0 42 )', /decimal/],
      ['( 0.5 1 0o1 ) BB_EVAL_FAILED ( )', /decimal/],
      ['( 0.5 1 0.5 ) BB_EVAL_OK ( 0x10 0 42 )', /decimal/],
    ];
    for (const [line, reason] of cases) {
      const text = `${good}\n${line}\n`;
      const response = expectStatus(await importCache(studyId, text), 400).body;
      assert.equal(response.details[0].field, 'cacheFile line 2', line);
      assert.match(response.details[0].reason, reason, line);
    }
    const trials = expectStatus(await test.http.get(`/v1/studies/${studyId}/trials`).set(...auth(userKey)), 200).body;
    assert.equal(trials.total, 0);
    // What NOMAD writes is still read: its other statuses carry no evaluation, numbers in its notations.
    const nomad = [
      'CACHE_HITS 0',
      'BB_OUTPUT_TYPE OBJ PB EXTRA_O',
      '( 0.5 1 -.5 ) BB_EVAL_OK ( 1.5e+00 -0 42 ) SURROGATE_EVAL_NOT_STARTED ( )',
      '( 1e-1 2 +0.25 ) BB_EVAL_FAILED ( )',
      '( 0.1 3 0.25 ) BB_EVAL_NOT_STARTED ( )',
      '( 0.1 4 0.25 ) BB_EVAL_IN_PROGRESS ( )',
      '( 0.1 -4 0.25 ) BB_EVAL_USER_REJECTED ( )',
      '',
    ].join('\n');
    assert.deepEqual(expectStatus(await importCache(studyId, nomad), 201).body, { imported: 2, skipped: 0 });
  });

  it(`imports at most ${MAX_CACHE_ENTRIES} evaluations at once, each point once`, async () => {
    const studyId = await p6Study(1_000_000);
    // Distinct points of the p6 box: x1, x3 reals, x2 an integer, all in [-5, 5].
    const line = (index: number): string =>
      `( ${(index % 100) / 100 - 0.5} ${(Math.floor(index / 100) % 11) - 5} ${Math.floor(index / 1100) / 10 - 0.5} ) BB_EVAL_OK ( ${index} -1 0 )`;
    const tooMany = Array.from({ length: MAX_CACHE_ENTRIES + 1 }, (_, index) => line(index)).join('\n');
    const refused = expectStatus(await importCache(studyId, tooMany), 400).body;
    assert.match(refused.details[0].reason, new RegExp(`at most ${MAX_CACHE_ENTRIES}`));

    const lines = Array.from({ length: MAX_CACHE_ENTRIES }, (_, index) => line(index));
    lines[MAX_CACHE_ENTRIES - 3] = lines[MAX_CACHE_ENTRIES - 3].replace(/BB_EVAL_OK.*$/, 'BB_EVAL_FAILED ( )');
    const first = [...lines.slice(0, MAX_CACHE_ENTRIES - 2), lines[0], lines[1]];
    assert.deepEqual(expectStatus(await importCache(studyId, first.join('\n')), 201).body, {
      imported: MAX_CACHE_ENTRIES - 2,
      skipped: 2,
    });
    assert.deepEqual(
      expectStatus(await importCache(studyId, lines.slice(MAX_CACHE_ENTRIES - 5).join('\n')), 201).body,
      { imported: 2, skipped: 3 },
    );
    const study = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
    assert.equal(study.evaluationCount, MAX_CACHE_ENTRIES);
    assert.equal(study.trialCounts.failed, 1);
    assert.equal(study.trialCounts.completed, MAX_CACHE_ENTRIES - 1);
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    const leased = expectStatus(await lease(test, runner, studyId), 200).body;
    assert.equal(leased.trial.number, MAX_CACHE_ENTRIES + 1);
  });
  // Finding 26: the import's room was the budget less the evaluations told and the results not yet
  // told, not the trials pending or running: with trials in flight it filled the whole budget,
  // ended the study (a user's enqueued point `stopped` unevaluated) and the running trials then
  // completed past it (evaluationCount 6 of a budget of 4). Any mix of leased and enqueued trials
  // and import sizes: the enqueued points are all evaluated, the count ends at the budget exactly.
  it('imports into the room the trials in flight leave, never past the budget nor in place of an enqueued point', async () => {
    const budget = 6;
    const runner = await registerRunner(test, await createKey(test, 'runner'), 'in-flight', { maxConcurrentTrials: 8 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: budget }),
        async (running, pending, importing) => {
          const study = expectStatus(
            await test.http
              .post('/v1/studies')
              .set(...auth(userKey))
              .send({
                name: 'in flight',
                parameters: [{ name: 'x', type: 'real', lower: -5, upper: 5 }],
                outputs: [{ name: 'loss', type: 'objective' }],
                budget: { maxEvaluations: budget, leaseSeconds: 600 },
                algorithm: { name: 'random', seed: 1 },
              }),
            201,
          ).body;
          const studyId = String(study.id);
          for (let index = 0; index < running + pending; index += 1) {
            expectStatus(await enqueuePoint(test, userKey, studyId, { x: index }), 201);
          }
          const leased: string[] = [];
          for (let index = 0; index < running; index += 1) {
            leased.push(String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id));
          }
          const cache = Array.from(
            { length: importing },
            (_, index) => `( ${-1 - index / 10} ) BB_EVAL_OK ( ${index} )`,
          );
          const room = budget - running - pending;
          assert.deepEqual(expectStatus(await importCache(studyId, cache.join('\n')), 201).body, {
            imported: Math.min(importing, room),
            skipped: importing - Math.min(importing, room),
          });
          for (const trialId of leased) {
            expectStatus(await report(test, runner, trialId, 'complete', { outputs: { loss: 1 } }), 200);
          }
          // What is left is leased and completed until the study ends.
          for (;;) {
            const next = await lease(test, runner, studyId);
            if (next.status === 204) break;
            expectStatus(next, 200);
            expectStatus(await report(test, runner, next.body.trial.id, 'complete', { outputs: { loss: 2 } }), 200);
          }
          const after = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
          const trials = expectStatus(
            await test.http.get(`/v1/studies/${studyId}/trials?limit=100`).set(...auth(userKey)),
            200,
          ).body.items as { origin: string; status: string }[];
          const label = `running ${running}, pending ${pending}, importing ${importing}`;
          assert.equal(after.evaluationCount, budget, label);
          assert.equal(after.status, 'completed', label);
          assert.deepEqual(
            trials.filter((trial) => trial.origin === 'user').map((trial) => trial.status),
            Array.from({ length: running + pending }, () => 'completed'),
            label,
          );
        },
      ),
      { numRuns: 12 },
    );
  });
});
