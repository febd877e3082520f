import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKeyWithId,
  createStudy,
  expectStatus,
  quadraticStudy,
  registerRunner,
  type TestRunner,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a body sent to an operation that reads none (docs/reliability.md, finding 66; finding 37
 * is the same for a query string). The validation pipe refuses an unknown field only where a route
 * declares a body DTO, so `POST /v1/studies/{id}/stop` with `{"deleteTrials": true}`, `pause` with
 * `{"force": true}`, a runner heartbeat with `{"gpus": 2}` or `DELETE /v1/studies/{id}` with a body
 * were answered 200/204 as if the fields were not there, which a caller reads as "taken into
 * account". Now, on the `/v1/` routes without `@Body()`, a body other than none or `{}` is a 400
 * naming its fields (or `body` when it is not an object), before the operation runs. (A GET's body
 * is not read at all: Fastify parses none, and HTTP gives it no meaning, RFC 9110 §9.3.1.)
 */
describe('a body sent to an operation that reads none', { timeout: 120_000 }, () => {
  let test: TestServer;
  let userKey: string;
  let spareKey: { id: string; key: string };
  let runner: TestRunner;
  let studyId: string;
  let finishedId: string;

  before(async () => {
    test = await startTestServer();
    userKey = (await createKeyWithId(test, 'user')).key;
    spareKey = await createKeyWithId(test, 'user');
    runner = await registerRunner(test, (await createKeyWithId(test, 'runner')).key);
    studyId = String((await createStudy(test, userKey, quadraticStudy({ name: 'active' }))).id);
    finishedId = String((await createStudy(test, userKey, quadraticStudy({ name: 'finished' }))).id);
    expectStatus(await test.http.post(`/v1/studies/${finishedId}/stop`).set(...auth(userKey)), 200);
  });
  after(() => test.close());

  it('is a 400 naming the fields, and the operation does not run', async () => {
    // [method, path, key, JSON text of the body, the fields named]
    const cases: ['post' | 'delete', string, string, string, string[]][] = [
      ['post', `/v1/studies/${studyId}/pause`, userKey, '{"force": true}', ['force']],
      ['post', `/v1/studies/${studyId}/resume`, userKey, '{"x": 1, "y": 2}', ['x', 'y']],
      ['post', `/v1/studies/${studyId}/stop`, userKey, '{"deleteTrials": true}', ['deleteTrials']],
      ['post', `/v1/studies/${studyId}/stop`, userKey, '[1]', ['body']],
      ['post', `/v1/studies/${studyId}/stop`, userKey, 'null', ['body']],
      ['post', `/v1/studies/${studyId}/stop`, userKey, '"stop"', ['body']],
      ['post', `/v1/studies/${studyId}/stop`, userKey, '0', ['body']],
      ['delete', `/v1/studies/${finishedId}`, userKey, '{"keepTrials": true}', ['keepTrials']],
      ['delete', `/v1/api-keys/${spareKey.id}`, test.adminKey, '{"reason": "x"}', ['reason']],
      ['post', `/v1/runners/${runner.id}/heartbeat`, runner.token, '{"gpus": 2}', ['gpus']],
      ['post', `/v1/runners/${runner.id}/clear-quarantine`, userKey, '{"all": true}', ['all']],
    ];
    for (const [method, path, key, body, fields] of cases) {
      const response = await test.http[method](path)
        .set(...auth(key))
        .set('Content-Type', 'application/json')
        .send(body);
      const what = `${method.toUpperCase()} ${path} ${body}`;
      assert.equal(response.status, 400, `${what}: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
      assert.equal(response.body.code, 'VALIDATION_FAILED', what);
      assert.deepEqual(
        (response.body.details as { field: string }[]).map((detail) => detail.field),
        fields,
        what,
      );
    }
    // Nothing ran: the study still active, the finished one still there, the key still valid.
    const study = expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200).body;
    assert.equal(study.status, 'active');
    expectStatus(await test.http.get(`/v1/studies/${finishedId}`).set(...auth(userKey)), 200);
    expectStatus(await test.http.get('/v1/studies').set(...auth(spareKey.key)), 200);
  });

  it('still runs with no body, an empty one or {}', async () => {
    expectStatus(
      await test.http
        .post(`/v1/runners/${runner.id}/heartbeat`)
        .set(...auth(runner.token))
        .send({}),
      200,
    );
    expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/pause`)
        .set(...auth(userKey))
        .set('Content-Type', 'application/json'),
      200,
    );
    expectStatus(
      await test.http
        .post(`/v1/studies/${studyId}/resume`)
        .set(...auth(userKey))
        .set('Content-Type', 'application/json')
        .send(' {} '),
      200,
    );
    expectStatus(await test.http.post(`/v1/studies/${studyId}/stop`).set(...auth(userKey)), 200);
    expectStatus(
      await test.http
        .delete(`/v1/studies/${finishedId}`)
        .set(...auth(userKey))
        .send({}),
      204,
    );
  });
});
