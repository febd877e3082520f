import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, bbo3Example, createKey, expectStatus } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * The mistakes of a first day with the API, each answered with what to do: a field left out of a
 * study (class: any required field, at any depth) is named once as `is required`, not as every
 * check it fails (`budget.maxEvaluations` was "must not be greater than 1000000", "must not be
 * less than 1" and "must be an integer number"); a body that did not arrive (curl's `-d @file`
 * with a mistyped file name sends none) names each missing field the same way; and a path that
 * no route matches (a base URL without `/v1`, or with it twice) says where the routes are.
 */
describe('first mistakes', () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(async () => test.close());

  async function refused(body: object): Promise<{ message: string; details: { field: string; reason: string }[] }> {
    const response = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(body));
    expectStatus(response, 400);
    assert.equal(response.body.code, 'VALIDATION_FAILED');
    return response.body as { message: string; details: { field: string; reason: string }[] };
  }

  /** Removes the field at `path` (array indices as digits) from a parsed JSON body. */
  function leaveOut(body: Record<string, unknown>, path: string): void {
    const keys = path.split(/[.[\]]+/).filter((key) => key !== '');
    let node = body;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    delete node[keys[keys.length - 1]];
  }

  /** Every field of the study body and of its objects that the API requires, by path. */
  const REQUIRED = [
    'name',
    'parameters',
    'outputs',
    'budget',
    'budget.maxEvaluations',
    'parameters[1].name',
    'parameters[1].type',
    'outputs[0].name',
    'outputs[0].type',
    'derived[0].name',
    'derived[0].expression',
  ];

  for (const field of REQUIRED) {
    it(`names ${field} left out once, as required`, async () => {
      const body = bbo3Example();
      leaveOut(body, field);
      const answer = await refused(body);
      assert.deepEqual(answer.details, [{ field, reason: 'is required' }], JSON.stringify(answer));
      assert.equal(answer.message, `${field}: is required`);
    });
  }

  it('still gives every reason for a field that is there but wrong', async () => {
    const body = bbo3Example();
    (body.budget as Record<string, unknown>).maxEvaluations = 'fifty';
    const answer = await refused(body);
    assert.ok(answer.details.length > 1, JSON.stringify(answer));
    assert.ok(
      answer.details.every((detail) => detail.field === 'budget.maxEvaluations' && detail.reason !== 'is required'),
    );
  });

  it('names a mistyped field and the field it left out', async () => {
    const body = bbo3Example();
    const budget = body.budget as Record<string, unknown>;
    budget.maxEvaluation = budget.maxEvaluations;
    delete budget.maxEvaluations;
    const answer = await refused(body);
    assert.deepEqual(answer.details.map((detail) => `${detail.field}: ${detail.reason}`).sort(), [
      'budget.maxEvaluation: property maxEvaluation should not exist',
      'budget.maxEvaluations: is required',
    ]);
  });

  // The empty key, at every place a field path is built (the validation pipe, the body walk, the
  // duplicate-key check, the depth check, the query-key check): named `[""]` where it stands, never
  // `budget.` or an empty field.
  const body = (top: string, inBudget = ''): string =>
    JSON.stringify(bbo3Example()).replace(/^\{/, `{${top}`).replace('"budget":{', `"budget":{${inBudget}`);
  const EMPTY_KEYS: { where: string; send: () => Promise<{ status: number; body: unknown }>; field: string }[] = [
    { where: 'top level, unknown', send: () => raw(body('"":1,')), field: '[""]' },
    { where: 'nested, unknown', send: () => raw(body('', '"":1,')), field: 'budget[""]' },
    { where: 'nested, bad text', send: () => raw(body('', '"":"\\u0000",')), field: 'budget[""]' },
    { where: 'given twice', send: () => raw(body('', '"":1,"":2,')), field: 'budget[""]' },
    {
      where: 'too deep',
      send: () => raw(body('', `"":${'['.repeat(40)}${']'.repeat(40)},`)),
      field: 'budget[""]',
    },
    {
      where: 'query of a route that takes one',
      send: () => test.http.get('/v1/studies?=1').set(...auth(userKey)),
      field: '[""]',
    },
    {
      where: 'query of a route that takes none',
      send: () => test.http.get('/v1/studies/00000000-0000-4000-8000-000000000000/best?=1').set(...auth(userKey)),
      field: '[""]',
    },
  ];
  async function raw(text: string): Promise<{ status: number; body: unknown }> {
    return test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json')
      .send(text);
  }
  for (const { where, send, field } of EMPTY_KEYS) {
    it(`names an empty key where it stands (${where})`, async () => {
      const response = await send();
      assert.equal(response.status, 400, JSON.stringify(response.body));
      const fields = (response.body as { details: { field: string }[] }).details.map((detail) => detail.field);
      assert.ok(
        fields.some((named) => named === field || named.startsWith(`${field}[`)),
        `${JSON.stringify(fields)} names no ${field}`,
      );
      assert.ok(!fields.some((named) => named === '' || named.endsWith('.')), JSON.stringify(fields));
    });
  }

  it('answers a study sent with no body with one line per missing field', async () => {
    const response = await test.http
      .post('/v1/studies')
      .set(...auth(userKey))
      .set('Content-Type', 'application/json');
    expectStatus(response, 400);
    assert.deepEqual(
      (response.body as { details: { field: string; reason: string }[] }).details,
      ['name', 'parameters', 'outputs', 'budget'].map((field) => ({ field, reason: 'is required' })),
    );
  });

  for (const [method, path] of [
    ['GET', '/studies'],
    ['POST', '/v1/v1/studies'],
    ['GET', '/api/v1/studies'],
  ] as const) {
    it(`says where the routes are for ${method} ${path}`, async () => {
      const response = await (method === 'GET' ? test.http.get(path) : test.http.post(path)).set(...auth(userKey));
      expectStatus(response, 404);
      assert.equal(response.body.code, 'NOT_FOUND');
      assert.equal(
        response.body.message,
        `no route ${method} ${path}: the API's routes start with /v1 (e.g. GET /v1/studies), GET /docs lists them`,
      );
    });
  }

  it('cuts a long unknown path in its message', async () => {
    const response = await test.http.get(`/${'x'.repeat(5000)}`);
    expectStatus(response, 404);
    assert.ok((response.body.message as string).length < 400, response.body.message);
  });
});
