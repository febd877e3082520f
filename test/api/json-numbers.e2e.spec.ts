import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a JSON number past the largest double (`1e309`, `-1e400`), which JSON.parse reads as
 * ±Infinity, inside the JSON a body carries opaque (a study's `trainingConfig`, a report's
 * `effectiveConfig`), where no field's own validator looks at numbers (docs/reliability.md,
 * finding 58). Typed fields refused it already (bad-input's "non-finite numbers"); in opaque JSON
 * it was stored, and JSON has no Infinity, so PostgreSQL's jsonb got `null`: the study was created
 * (201) and its runners trained with `null` where the user wrote a number. Now a 400 naming the
 * place, wherever it is in a body, and nothing written.
 */
describe('numbers JSON.parse reads as Infinity, anywhere in a body', { timeout: 120_000 }, () => {
  let test: TestServer;
  let userKey: string;
  let runner: TestRunner;
  let trialId: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    runner = await registerRunner(test, await createKey(test, 'runner'));
    const studyId = String((await createStudy(test, userKey, quadraticStudy({ name: 'numbers' }))).id);
    trialId = String(expectStatus(await lease(test, runner, studyId), 200).body.trial.id);
  });
  after(() => test.close());

  const studies = async (): Promise<number> =>
    expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total as number;

  it('in trainingConfig or effectiveConfig, at any depth: 400 naming the place, nothing written', async () => {
    const nomad = {
      name: 'nomad',
      parameterFile: 'DIMENSION 1\nLOWER_BOUND 0\nUPPER_BOUND 1\nMAX_BB_EVAL 5\n',
      parameterNames: ['lr'],
      outputNames: ['loss'],
    };
    // [route, key, body with "N" where the literal goes, the field named]
    const cases: [string, string, Record<string, unknown>, string][] = [
      [
        '/v1/studies',
        userKey,
        quadraticStudy({ trainingConfig: { model: 'm', maxGradNorm: 'N' } }),
        'trainingConfig.maxGradNorm',
      ],
      ['/v1/studies', userKey, quadraticStudy({ trainingConfig: { a: { b: [1, 'N'] } } }), 'trainingConfig.a.b[1]'],
      ['/v1/studies/import/nomad', userKey, { ...nomad, trainingConfig: { epochs: 'N' } }, 'trainingConfig.epochs'],
      [
        `/v1/trials/${trialId}/complete`,
        runner.token,
        { outputs: { loss: 1 }, effectiveConfig: { lr: 'N' } },
        'effectiveConfig.lr',
      ],
      [
        `/v1/trials/${trialId}/complete`,
        runner.token,
        { outputs: { loss: 1 }, effectiveConfig: { x: [{ y: 'N' }] } },
        'effectiveConfig.x[0].y',
      ],
    ];
    for (const literal of ['1e309', '-1e400', '123456789e999', '1' + '0'.repeat(400)]) {
      for (const [path, key, body, field] of cases) {
        const before = await studies();
        const response = await test.http
          .post(path)
          .set(...auth(key))
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body).replace('"N"', literal));
        assert.equal(
          response.status,
          400,
          `${path} ${field} = ${literal.slice(0, 20)}: ${response.text.slice(0, 300)}`,
        );
        assert.equal(response.body.code, 'VALIDATION_FAILED');
        assert.deepEqual(
          (response.body.details as { field: string }[]).map((detail) => detail.field),
          [field],
          response.text.slice(0, 300),
        );
        assert.equal(await studies(), before, `${path}: no study written`);
      }
    }
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body;
    assert.equal(trial.status, 'running', 'the refused completions wrote nothing');
  });

  it('finite numbers at the edges of a double in the same places are stored as sent', async () => {
    const literal = '1.7976931348623157e308';
    const created = expectStatus(
      await test.http
        .post('/v1/studies')
        .set(...auth(userKey))
        .set('Content-Type', 'application/json')
        .send(
          JSON.stringify(quadraticStudy({ trainingConfig: { big: 'N', tiny: 5e-324, zero: -0 } })).replace(
            '"N"',
            literal,
          ),
        ),
      201,
    ).body;
    const read = expectStatus(await test.http.get(`/v1/studies/${created.id}`).set(...auth(userKey)), 200).body;
    assert.deepEqual(read.trainingConfig, { big: Number.MAX_VALUE, tiny: 5e-324, zero: 0 });
  });
});
