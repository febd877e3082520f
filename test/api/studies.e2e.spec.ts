import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, bbo3Example, createKey, createStudy, expectStatus, quadraticStudy } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

describe('studies', () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(async () => test.close());

  it('round-trips the seed BBO3 study unchanged', async () => {
    const example = bbo3Example();
    const created = await createStudy(test, userKey, example);
    const fetched = expectStatus(
      await test.http.get(`/v1/studies/${String(created.id)}`).set(...auth(userKey)),
      200,
    ).body;
    for (const field of [
      'name',
      'description',
      'parameters',
      'derived',
      'outputs',
      'x0',
      'budget',
      'algorithm',
      'trainingConfig',
    ]) {
      assert.deepEqual(fetched[field], example[field], field);
    }
    assert.equal(fetched.status, 'active');
    assert.equal(fetched.stopReason, null);
    assert.equal(fetched.evaluationCount, 0);
  });

  it('lists studies newest first, paginated and filtered by status', async () => {
    const first = await createStudy(test, userKey, quadraticStudy({ name: 'list-a' }));
    const second = await createStudy(test, userKey, quadraticStudy({ name: 'list-b' }));
    expectStatus(await test.http.post(`/v1/studies/${String(first.id)}/pause`).set(...auth(userKey)), 200);
    const page = expectStatus(await test.http.get('/v1/studies?limit=1').set(...auth(userKey)), 200).body;
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0].id, second.id);
    assert.ok(page.total >= 2);
    const paused = expectStatus(await test.http.get('/v1/studies?status=paused').set(...auth(userKey)), 200).body;
    assert.deepEqual(
      paused.items.map((study: { id: string }) => study.id),
      [first.id],
    );
  });

  it('pauses, resumes and stops, and refuses impossible transitions', async () => {
    const study = await createStudy(test, userKey, quadraticStudy());
    const path = `/v1/studies/${String(study.id)}`;
    assert.equal(expectStatus(await test.http.post(`${path}/pause`).set(...auth(userKey)), 200).body.status, 'paused');
    assert.equal(expectStatus(await test.http.post(`${path}/resume`).set(...auth(userKey)), 200).body.status, 'active');
    const stopped = expectStatus(await test.http.post(`${path}/stop`).set(...auth(userKey)), 200).body;
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.stopReason, 'user_stopped');
    const resumed = expectStatus(await test.http.post(`${path}/resume`).set(...auth(userKey)), 409).body;
    assert.equal(resumed.code, 'INVALID_STATUS_TRANSITION');
  });

  it('answers 404 with the error body for unknown and malformed ids', async () => {
    const unknown = expectStatus(
      await test.http.get('/v1/studies/00000000-0000-4000-8000-000000000000').set(...auth(userKey)),
      404,
    ).body;
    assert.equal(unknown.code, 'STUDY_NOT_FOUND');
    assert.equal(unknown.statusCode, 404);
    const malformed = expectStatus(await test.http.get('/v1/studies/not-a-uuid').set(...auth(userKey)), 400).body;
    assert.equal(malformed.code, 'VALIDATION_FAILED');
    assert.deepEqual(malformed.details, [{ field: 'studyId', reason: 'must be a UUID' }]);
  });

  const badStudies: [string, Record<string, unknown>, string][] = [
    [
      'bounds in the wrong order',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: 5, upper: -5 }], x0: [] }),
      'parameters[0].upper',
    ],
    [
      'an unknown parameter type',
      quadraticStudy({ parameters: [{ name: 'x', type: 'complex' }] }),
      'parameters[0].type',
    ],
    [
      'a non-numeric bound',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: 'a', upper: 1 }] }),
      'parameters[0].lower',
    ],
    ['an X0 outside the bounds', quadraticStudy({ x0: [{ x: 7, y: 0 }] }), 'x0[0].x'],
    ['an X0 missing a parameter', quadraticStudy({ x0: [{ x: 1 }] }), 'x0[0].y'],
    [
      'two objectives',
      quadraticStudy({
        outputs: [
          { name: 'a', type: 'objective' },
          { name: 'b', type: 'objective' },
        ],
      }),
      'outputs',
    ],
    [
      'a derived expression calling code',
      quadraticStudy({ derived: [{ name: 'z', expression: 'process.exit(1)' }] }),
      'derived[0].expression',
    ],
    [
      'a derived expression over an unknown name',
      quadraticStudy({ derived: [{ name: 'z', expression: 'x * w' }] }),
      'derived[0].expression',
    ],
    [
      'a log scale with a non-positive bound',
      quadraticStudy({ parameters: [{ name: 'x', type: 'real', lower: 0, upper: 1, log: true }], x0: [] }),
      'parameters[0].lower',
    ],
    [
      'an ordinal value repeated',
      quadraticStudy({ parameters: [{ name: 'r', type: 'ordinal', values: [4, 4, 8] }], x0: [] }),
      'parameters[0].values',
    ],
    [
      'a fixed value outside the values',
      quadraticStudy({ parameters: [{ name: 'r', type: 'ordinal', values: [4, 8], fixed: 16 }], x0: [] }),
      'parameters[0].fixed',
    ],
    ['an unknown field', quadraticStudy({ colour: 'blue' }), 'colour'],
    ['a zero budget', quadraticStudy({ budget: { maxEvaluations: 0 } }), 'budget.maxEvaluations'],
    ['an unknown algorithm', quadraticStudy({ algorithm: { name: 'tpe' } }), 'algorithm.name'],
  ];
  for (const [what, body, field] of badStudies) {
    it(`rejects ${what} with 400 naming ${field}, and writes nothing`, async () => {
      const before = expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total;
      const response = expectStatus(
        await test.http
          .post('/v1/studies')
          .set(...auth(userKey))
          .send(body),
        400,
      ).body;
      assert.equal(response.code, 'VALIDATION_FAILED');
      assert.ok(
        (response.details as { field: string }[]).some((detail) => detail.field === field),
        `details ${JSON.stringify(response.details)} should name ${field}`,
      );
      const afterwards = expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total;
      assert.equal(afterwards, before);
    });
  }

  it('rejects a body that is not JSON with 400 and the error body', async () => {
    const response = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expectStatus(response, 400);
    assert.equal(response.body.code, 'VALIDATION_FAILED');
  });
});
