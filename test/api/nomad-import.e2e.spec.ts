import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { auth, createKey, expectStatus, registerRunner } from '../support/api-client';
import { STUDY_LIMITS } from '../../api/src/studies/study-limits';
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
  const twoVariables = (extra: string): string =>
    `DIMENSION 2\nX0 ( 1 1 )\nLOWER_BOUND * 0\nUPPER_BOUND * 5\nMAX_BB_EVAL 10\n${extra}\n`;

  it('a FIXED_VARIABLE index range beyond DIMENSION is one 400 (it used to exhaust the heap)', async () => {
    for (const range of ['0-99999999', '1-2', '2', '5-3']) {
      // Before the fix the range was expanded into an array (heap exhausted: the process died, so
      // this answer is the check); its speed is bench:hostile's figure (docs/reliability.md).
      const response = expectStatus(
        await importFile({ name: 'fixed range', parameterFile: twoVariables(`FIXED_VARIABLE ${range}`) }),
        400,
      ).body;
      assert.equal(response.details.length, 1, JSON.stringify(response.details));
      assert.equal(response.details[0].field, 'parameterFile line 6 (FIXED_VARIABLE)');
    }
    const fixed = expectStatus(
      await importFile({ name: 'fixed first', parameterFile: twoVariables('FIXED_VARIABLE 0-0') }),
      201,
    ).body;
    assert.deepEqual(fixed.study.parameters[0], { name: 'x1', type: 'real', lower: 0, upper: 5, fixed: 1 });
  });

  it('any number of problems in a file gives a bounded error body', async () => {
    const file = twoVariables(Array.from({ length: 5_000 }, (_, index) => `BAD_${index} 1`).join('\n'));
    const response = expectStatus(await importFile({ name: 'many errors', parameterFile: file }), 400).body;
    assert.ok(response.details.length <= 100, `${response.details.length} details`);
    assert.match(response.message, /^5000 fields are invalid; details lists the first 100$/);
  });

  it('MAX_BB_EVAL and X0 are held to the limits of POST /v1/studies (1e300 used to be a 500)', async () => {
    const file = (maxBbEval: string, x0Lines: number): string =>
      `DIMENSION 1\nLOWER_BOUND 0\nUPPER_BOUND 1000\nMAX_BB_EVAL ${maxBbEval}\n` +
      Array.from({ length: x0Lines }, (_, index) => `X0 ${index}`).join('\n');
    for (const maxBbEval of ['1e300', '10000000', String(STUDY_LIMITS.maxEvaluations + 1), '0', '1.5']) {
      const response = expectStatus(await importFile({ name: 'budget', parameterFile: file(maxBbEval, 1) }), 400);
      assert.match(response.body.details[0].field, /\(MAX_BB_EVAL\)/, response.text);
    }
    const manyX0 = expectStatus(
      await importFile({ name: 'x0', parameterFile: file('10', STUDY_LIMITS.x0 + 1) }),
      400,
    ).body;
    assert.match(manyX0.details[0].field, /\(X0\)/);
    expectStatus(
      await importFile({ name: 'x0', parameterFile: file(String(STUDY_LIMITS.maxEvaluations), STUDY_LIMITS.x0) }),
      201,
    );
  });

  it('every creation path, same limits: a problem is accepted by POST /v1/studies exactly when its NOMAD file is', async () => {
    const around = (limit: number): fc.Arbitrary<number> => fc.constantFrom(0, 1, limit - 1, limit, limit + 1);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          dimension: fc.oneof(around(STUDY_LIMITS.parameters), fc.integer({ min: 1, max: 4 })),
          x0Count: fc.oneof(around(STUDY_LIMITS.x0), fc.integer({ min: 0, max: 3 })),
          maxEvaluations: fc.oneof(
            around(STUDY_LIMITS.maxEvaluations),
            fc.constantFrom(1e300, 10_000_000, 2.5, -3),
            fc.integer({ min: 1, max: 100 }),
          ),
          seed: fc.oneof(around(STUDY_LIMITS.seed), fc.integer({ min: 0, max: 10 })),
          x0Value: fc.constantFrom(0, 1, 2, -1),
        }),
        async ({ dimension, x0Count, maxEvaluations, seed, x0Value }) => {
          const names = Array.from({ length: dimension }, (_, index) => `x${index + 1}`);
          const body = {
            name: 'same limits',
            parameters: names.map((name) => ({ name, type: 'real', lower: 0, upper: 1 })),
            outputs: [{ name: 'obj', type: 'objective' }],
            x0: Array.from({ length: x0Count }, () => Object.fromEntries(names.map((name) => [name, x0Value]))),
            budget: { maxEvaluations },
            algorithm: { name: 'mads', seed },
          };
          const file = [
            `DIMENSION ${dimension}`,
            'LOWER_BOUND * 0',
            'UPPER_BOUND * 1',
            `MAX_BB_EVAL ${maxEvaluations}`,
            `SEED ${seed}`,
            ...Array.from({ length: x0Count }, () => `X0 * ${x0Value}`),
          ].join('\n');
          const direct = await test.http
            .post('/v1/studies')
            .set(...auth(userKey))
            .send(body);
          const imported = await importFile({ name: 'same limits', parameterFile: file });
          assert.ok(direct.status < 500 && imported.status < 500, `${direct.text} / ${imported.text}`);
          assert.equal(
            imported.status,
            direct.status,
            `POST /v1/studies ${direct.status} ${direct.text.slice(0, 200)}; import ${imported.status} ${imported.text.slice(0, 200)}`,
          );
        },
      ),
      { numRuns: Number(process.env.MESHTUNE_PROPERTY_RUNS ?? 60) },
    );
  });
});
