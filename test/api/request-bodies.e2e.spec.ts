import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, createKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

describe('request bodies: JSON media types, empty and malformed bodies', () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(() => test.close());

  const post = (contentType: string, body: string) =>
    test.http
      .post('/v1/studies/import/nomad')
      .set(...auth(userKey))
      .set('Content-Type', contentType)
      .send(body);

  it('accepts application/json with parameters, in any case, and application/*+json', async () => {
    const valid = JSON.stringify({
      name: 'bodies',
      parameterFile: 'DIMENSION 1\nX0 (0)\nLOWER_BOUND (-1)\nUPPER_BOUND (1)\nBB_OUTPUT_TYPE OBJ\nMAX_BB_EVAL 5\n',
    });
    for (const contentType of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'Application/JSON',
      'application/vnd.meshtune+json',
    ]) {
      const response = await post(contentType, valid);
      assert.equal(response.status, 201, `${contentType}: ${JSON.stringify(response.body)}`);
    }
  });

  it('answers 415 with the error body for other media types, 400 for malformed JSON, field errors for an empty body', async () => {
    const textPlain = await post('text/plain', 'DIMENSION 1');
    assert.equal(textPlain.status, 415);
    assert.equal(textPlain.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(textPlain.body.message, /application\/json/);

    const malformed = await post('application/json', '{"name": ');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'VALIDATION_FAILED');
    assert.equal(malformed.body.message, 'request body is not valid JSON');

    // An empty JSON body is an empty object: the answer names the missing fields.
    const empty = await post('application/json', '');
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'VALIDATION_FAILED');
    const fields = (empty.body.details as { field: string }[]).map((detail) => detail.field);
    assert.ok(fields.includes('parameterFile'), JSON.stringify(empty.body));
  });

  // Fields declared once and shared (CreateStudyDto's by the NOMAD import, one quota decorator for
  // every project quota) keep their rules on every route that uses them.
  it('the NOMAD import holds its shared fields to the rules of POST /v1/studies, naming each', async () => {
    const parameterFile = 'DIMENSION 1\nX0 (0)\nLOWER_BOUND (-1)\nUPPER_BOUND (1)\nMAX_BB_EVAL 5\n';
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ trainingConfig: [1] }, 'trainingConfig'],
      [{ projectId: 'not-a-uuid' }, 'projectId'],
      [{ requiredRunnerLabels: [''] }, 'requiredRunnerLabels'],
      [{ requiredRunnerGpus: 0 }, 'requiredRunnerGpus'],
      [{ requiredRunnerGpuMemoryMb: 1.5 }, 'requiredRunnerGpuMemoryMb'],
      [{ parameterNames: ['x'.repeat(65)] }, 'parameterNames'],
      [{ outputNames: 'obj' }, 'outputNames'],
    ];
    for (const [patch, field] of cases) {
      const response = await test.http
        .post('/v1/studies/import/nomad')
        .set(...auth(userKey))
        .send({ name: 'shared', parameterFile, ...patch });
      assert.equal(response.status, 400, `${field}: ${JSON.stringify(response.body)}`);
      const fields = (response.body.details as { field: string }[]).map((detail) => detail.field);
      assert.ok(fields.includes(field), `${field}: ${JSON.stringify(response.body)}`);
    }
    // Valid, they reach the imported study as they would a created one.
    const imported = await test.http
      .post('/v1/studies/import/nomad')
      .set(...auth(userKey))
      .send({ name: 'needs an 80 GB GPU', parameterFile, requiredRunnerGpus: 2, requiredRunnerGpuMemoryMb: 81_920 });
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    assert.deepEqual(
      [imported.body.study.requiredRunnerGpus, imported.body.study.requiredRunnerGpuMemoryMb],
      [2, 81_920],
    );
  });

  it('project quotas are integers from 1 to 1,000,000 or null, on create and update, naming the field', async () => {
    const admin = (request: ReturnType<TestServer['http']['post']>) => request.set(...auth(test.adminKey));
    const created = await admin(test.http.post('/v1/projects')).send({ name: 'quota-rules', maxActiveStudies: null });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const value of [0, 1.5, 1_000_001, '3']) {
      for (const field of ['maxActiveStudies', 'maxParallelTrials']) {
        const onCreate = await admin(test.http.post('/v1/projects')).send({ name: 'quota-bad', [field]: value });
        const onUpdate = await admin(test.http.patch(`/v1/projects/${created.body.id}`)).send({ [field]: value });
        for (const response of [onCreate, onUpdate]) {
          assert.equal(response.status, 400, `${field} = ${value}: ${JSON.stringify(response.body)}`);
          assert.ok(
            (response.body.details as { field: string }[]).some((detail) => detail.field === field),
            JSON.stringify(response.body),
          );
        }
      }
    }
    const updated = await admin(test.http.patch(`/v1/projects/${created.body.id}`)).send({
      maxActiveStudies: 1_000_000,
      maxParallelTrials: 1,
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body.maxActiveStudies, 1_000_000);
  });
});
