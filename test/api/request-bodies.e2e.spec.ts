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
});
