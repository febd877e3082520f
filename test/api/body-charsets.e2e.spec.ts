import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { auth, createKey, expectStatus, quadraticStudy } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs `bytes` as they are (supertest would re-encode a Buffer or a string). */
function post(url: string, path: string, key: string, contentType: string, bytes: Buffer): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: hostname,
        port,
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${key}`, 'content-type': contentType, 'content-length': bytes.length },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    request.on('error', reject);
    request.end(bytes);
  });
}

/**
 * Class: a body in another character encoding than the one the API reads (docs/reliability.md,
 * finding 65). The API reads every body as UTF-8 (JSON's only encoding, RFC 8259 §8.1), and read
 * what was not valid UTF-8 as U+FFFD: a study named `café` sent as `charset=latin1` (or any byte
 * that is not UTF-8) was created, 201, named `caf\uFFFD`, its trainingConfig likewise, and the
 * client was never told its text was lost. A charset other than UTF-8 was ignored (UTF-16 then
 * failed as "not valid JSON", naming nothing). Now a charset other than UTF-8 is a 415 naming
 * `Content-Type`, bytes that are not UTF-8 a 400 naming `body`, and nothing is written.
 */
describe('a body in another character encoding than UTF-8', { timeout: 120_000 }, () => {
  let test: TestServer;
  let userKey: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
  });
  after(() => test.close());

  const studies = async (): Promise<number> =>
    expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total as number;

  const text = JSON.stringify(quadraticStudy({ name: 'café', trainingConfig: { note: 'naïve' } }));
  /** The study's text with `bytes` where `é` of `café` stands. */
  const withBytes = (bytes: number[]): Buffer => {
    const at = text.indexOf('é');
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at + 1))]);
  };

  it('is refused, naming the header or the body, and nothing is written', async () => {
    const json = 'application/json';
    // A charset other than UTF-8: 415 naming Content-Type. [what, Content-Type, bytes]
    const labelled: [string, string, Buffer][] = [
      ['latin1 labelled', `${json}; charset=latin1`, Buffer.from(text, 'latin1')],
      ['ISO-8859-1 labelled, ASCII text', `${json}; charset=ISO-8859-1`, Buffer.from(JSON.stringify(quadraticStudy()))],
      ['UTF-16 labelled', `${json}; charset=utf-16`, Buffer.from(text, 'utf16le')],
      ['windows-1252 quoted', `${json}; charset="windows-1252"`, Buffer.from(text, 'latin1')],
      ['UTF-8 then latin1', `${json}; charset=utf-8; charset=latin1`, Buffer.from(text)],
    ];
    // Bytes that are not UTF-8: 400 naming the body and the byte where `é` stands.
    const malformed: [string, string, Buffer][] = [
      ['latin1 unlabelled', json, Buffer.from(text, 'latin1')],
      ['latin1 labelled UTF-8', `${json}; charset=utf-8`, Buffer.from(text, 'latin1')],
      ['0xFF 0xFE', json, withBytes([0xff, 0xfe])],
      ['overlong /', json, withBytes([0xc0, 0xaf])],
      ['a surrogate in 3 bytes', json, withBytes([0xed, 0xa0, 0x80])],
      ['a cut sequence', json, withBytes([0xe2, 0x82])],
      ['past U+10FFFF', json, withBytes([0xf4, 0x90, 0x80, 0x80])],
    ];
    const at = Buffer.byteLength(text.slice(0, text.indexOf('é')));
    const before = await studies();
    for (const [what, contentType, bytes] of labelled) {
      const answer = await post(test.url, '/v1/studies', userKey, contentType, bytes);
      assert.equal(answer.status, 415, `${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      assert.equal(answer.body.code, 'UNSUPPORTED_MEDIA_TYPE', what);
      assert.deepEqual(answer.body.details, { header: 'Content-Type' }, what);
    }
    for (const [what, contentType, bytes] of malformed) {
      const answer = await post(test.url, '/v1/studies', userKey, contentType, bytes);
      assert.equal(answer.status, 400, `${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      assert.equal(answer.body.code, 'VALIDATION_FAILED', what);
      const [detail] = answer.body.details as { field: string; reason: string }[];
      assert.equal(detail.field, 'body', what);
      assert.match(detail.reason, new RegExp(`^is not valid UTF-8 \\(byte ${at}: 0x`), what);
    }
    assert.equal(await studies(), before, 'no study written');
  });

  it('reads UTF-8 however it is labelled, and keeps its text', async () => {
    const emoji = JSON.stringify(quadraticStudy({ name: 'café 🦜', trainingConfig: { note: 'naïve' } }));
    for (const contentType of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/json; charset="utf-8"',
      'application/json; charset=utf8',
      'application/vnd.meshtune+json; charset=utf-8',
    ]) {
      const answer = await post(test.url, '/v1/studies', userKey, contentType, Buffer.from(emoji));
      assert.equal(answer.status, 201, `${contentType}: ${JSON.stringify(answer.body).slice(0, 200)}`);
      assert.equal(answer.body.name, 'café 🦜', contentType);
      assert.deepEqual(answer.body.trainingConfig, { note: 'naïve' }, contentType);
    }
  });
});
