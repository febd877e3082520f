import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auth, createKey, expectStatus, registerRunner } from '../support/api-client';
import { runUntilDone } from '../support/simulated-runner';
import { startTestServer, type TestServer } from '../support/test-server';

const seedParameterFile = readFileSync(join(process.cwd(), 'test/fixtures/bbo3-param.txt'), 'utf8');

describe('NOMAD parameter file import', () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(async () => test.close());

  const importFile = (body: Record<string, unknown>) =>
    test.http
      .post('/v1/studies/import/nomad')
      .set(...auth(userKey))
      .send(body);

  it("imports the seed's BBO3 param.txt verbatim and lists the keywords it ignores", async () => {
    const response = expectStatus(
      await importFile({
        name: 'bbo3 from param.txt',
        parameterFile: seedParameterFile,
        parameterNames: ['rank_index', 'alpha_multiplier', 'dropout_index'],
        outputNames: ['val_loss', 'eval_runtime', 'train_loss', 'train_runtime'],
      }),
      201,
    ).body;
    assert.deepEqual(response.ignoredKeywords, ['BB_EXE', 'NB_THREADS_OPENMP', 'HISTORY_FILE']);
    const study = response.study;
    assert.deepEqual(study.parameters, [
      { name: 'rank_index', type: 'integer', lower: 1, upper: 5 },
      { name: 'alpha_multiplier', type: 'integer', lower: 1, upper: 64 },
      { name: 'dropout_index', type: 'integer', lower: 1, upper: 5 },
    ]);
    assert.deepEqual(study.outputs, [
      { name: 'val_loss', type: 'objective', goal: 'minimize' },
      { name: 'eval_runtime', type: 'extra' },
      { name: 'train_loss', type: 'extra' },
      { name: 'train_runtime', type: 'extra' },
    ]);
    assert.deepEqual(study.x0, [{ rank_index: 2, alpha_multiplier: 8, dropout_index: 1 }]);
    assert.equal(study.budget.maxEvaluations, 50);
    assert.equal(study.algorithm.name, 'mads');

    // Run it with a synthetic blackbox: the budget is exact and X0 is evaluated first.
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    const log = await runUntilDone(test, runner, String(study.id), (p) => ({
      val_loss:
        ((p.rank_index as number) - 4) ** 2 +
        ((p.alpha_multiplier as number) - 20) ** 2 / 100 +
        (p.dropout_index as number),
      eval_runtime: 1,
      train_loss: 2,
      train_runtime: 3,
    }));
    assert.deepEqual(log.evaluated[0].point, [2, 8, 1]);
    const finished = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)),
      200,
    ).body;
    assert.equal(finished.status, 'completed');
    assert.equal(log.evaluated.length, finished.evaluationCount);
    if (finished.stopReason === 'max_evaluations') assert.equal(finished.evaluationCount, 50);
    const best = expectStatus(
      await test.http.get(`/v1/studies/${String(study.id)}/best`).set(...auth(userKey)),
      200,
    ).body;
    assert.deepEqual(best.point, [4, 20, 1]);
  });

  it('names unknown and unsupported keywords in a 400 and writes nothing', async () => {
    const before = expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total;
    const response = expectStatus(
      await importFile({
        name: 'bad',
        parameterFile: `${seedParameterFile}\nLH_SEARCH 10 0\nFROBNICATE yes\nDIRECTION_TYPE ORTHO 1\n`,
      }),
      400,
    ).body;
    const fields = (response.details as { field: string }[]).map((detail) => detail.field);
    assert.ok(
      fields.some((field) => field.includes('(LH_SEARCH)')),
      JSON.stringify(fields),
    );
    assert.ok(fields.some((field) => field.includes('(FROBNICATE)')));
    assert.ok(fields.some((field) => field.includes('(DIRECTION_TYPE)')));
    const afterwards = expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total;
    assert.equal(afterwards, before);
  });

  it('rejects a file without MAX_BB_EVAL or with an X0 outside the bounds', async () => {
    const noBudget = expectStatus(
      await importFile({ name: 'x', parameterFile: seedParameterFile.replace('MAX_BB_EVAL 50', '') }),
      400,
    ).body;
    assert.match(JSON.stringify(noBudget.details), /MAX_BB_EVAL is required/);
    const outside = expectStatus(
      await importFile({ name: 'x', parameterFile: seedParameterFile.replace('X0 (2 8 1)', 'X0 (2 80 1)') }),
      400,
    ).body;
    assert.deepEqual(outside.details, [{ field: 'x0[0].x2', reason: 'must be between 1 and 64' }]);
  });
});
