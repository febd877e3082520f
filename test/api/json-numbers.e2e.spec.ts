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
describe('numbers a double cannot hold as written, anywhere in a body', { timeout: 120_000 }, () => {
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

  const opaqueCases = (): [string, string, Record<string, unknown>, string][] => {
    const nomad = {
      name: 'nomad',
      parameterFile: 'DIMENSION 1\nLOWER_BOUND 0\nUPPER_BOUND 1\nMAX_BB_EVAL 5\n',
      parameterNames: ['lr'],
      outputNames: ['loss'],
    };
    // [route, key, body with "N" where the literal goes, the field named]
    return [
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
  };

  /** Each literal in each opaque place: 400 naming the place, nothing written. */
  async function assertRefused(literals: readonly string[]): Promise<void> {
    for (const literal of literals) {
      for (const [path, key, body, field] of opaqueCases()) {
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
  }

  it('in trainingConfig or effectiveConfig, at any depth: 400 naming the place, nothing written', async () => {
    await assertRefused(['1e309', '-1e400', '123456789e999', '1' + '0'.repeat(400)]);
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body;
    assert.equal(trial.status, 'running', 'the refused completions wrote nothing');
  });

  // Finding 68: an integer past 2^53 was stored as the nearest double, a number the user never wrote.
  it('integers past 2^53 that a double cannot hold, in the same places: 400 naming the place, nothing written', async () => {
    await assertRefused(['12345678901234567890', '-9007199254740993', '9007199254740993', '1' + '0'.repeat(30) + '1']);
    const trial = expectStatus(await test.http.get(`/v1/trials/${trialId}`).set(...auth(userKey)), 200).body;
    assert.equal(trial.status, 'running', 'the refused completions wrote nothing');
    const response = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(quadraticStudy({ trainingConfig: { seed: 'N' } })).replace('"N"', '12345678901234567890'));
    assert.match(String(response.body.details?.[0]?.reason), /12345678901234567000.*string/, response.text);
  });

  it('integers a double holds, or prints back as written, are stored as sent', async () => {
    // 2^53, 2^60 and 10^21 are doubles exactly; 123456789012345670000 is how JavaScript writes the
    // double 1.2345678901234567e20, so a JavaScript client's own numbers come back as it sent them.
    const literals = [
      '9007199254740992',
      '1152921504606846976',
      '1' + '0'.repeat(21),
      '123456789012345670000',
      '-9007199254740991',
    ];
    const text = JSON.stringify(quadraticStudy({ trainingConfig: { a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' } }))
      .replace('"A"', literals[0])
      .replace('"B"', literals[1])
      .replace('"C"', literals[2])
      .replace('"D"', literals[3])
      .replace('"E"', literals[4]);
    const created = expectStatus(
      await test.http
        .post('/v1/studies')
        .set(...auth(userKey))
        .set('Content-Type', 'application/json')
        .send(text),
      201,
    ).body;
    const read = expectStatus(await test.http.get(`/v1/studies/${created.id}`).set(...auth(userKey)), 200).body;
    assert.deepEqual(read.trainingConfig, {
      a: 2 ** 53,
      b: 2 ** 60,
      c: 1e21,
      d: 1.2345678901234567e20,
      e: -(2 ** 53 - 1),
    });
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
