import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { auth, expectStatus } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a body in a coding the API does not apply (docs/reliability.md, finding 43). The API
 * decodes no content coding and no transfer coding but `chunked`, and it read a body sent as
 * `Content-Encoding: gzip` (or `br`, `deflate`, any name) or `Transfer-Encoding: gzip, chunked`
 * as if it were not coded: plain JSON under a gzip label created the project. Anything in front
 * that applies the label (a proxy or filter that gunzips to inspect, and passes on what it cannot
 * decode) then sees other bytes than the API stores. Now such a body is a 415 naming the header,
 * before it is read, and nothing is written.
 */
interface RawAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Sends one request as written and reads the answer until the connection closes. */
function raw(url: string, request: Buffer): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const limit = setTimeout(() => reject(new Error('no answer')), 8_000);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      clearTimeout(limit);
      const received = Buffer.concat(chunks).toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      try {
        resolve({
          status: Number(received.slice(0, received.indexOf('\r\n')).split(' ')[1]),
          body: JSON.parse(received.slice(end + 4)) as Record<string, unknown>,
        });
      } catch {
        reject(new Error(`not a JSON answer: ${JSON.stringify(received.slice(0, 300))}`));
      }
    });
    socket.write(request);
  });
}

describe('request bodies in a coding the API does not apply', () => {
  let test: TestServer;
  let sent = 0;

  before(async () => {
    test = await startTestServer();
  });
  after(() => test.close());

  const projects = async (): Promise<number> =>
    expectStatus(await test.http.get('/v1/projects?limit=1').set(...auth(test.adminKey)), 200).body.total as number;

  function request(header: string): Buffer {
    sent += 1;
    const body = Buffer.from(JSON.stringify({ name: `coded-${sent}` }));
    const chunked = /^transfer-encoding/i.test(header);
    const head =
      `POST /v1/projects HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${test.adminKey}\r\n` +
      `Content-Type: application/json\r\n${header}\r\n` +
      (chunked ? '\r\n' : `Content-Length: ${body.length}\r\n\r\n`);
    const payload = chunked
      ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
      : body;
    return Buffer.concat([Buffer.from(head), payload]);
  }

  it('a content coding other than identity, or a transfer coding other than chunked: 415 naming the header, nothing written', async () => {
    const before = await projects();
    const headers = [
      'Content-Encoding: gzip',
      'Content-Encoding: GZIP',
      'Content-Encoding: deflate',
      'Content-Encoding: br',
      'Content-Encoding: zstd',
      'Content-Encoding: x-anything',
      'Content-Encoding: identity, gzip',
      'Content-Encoding: gzip, identity',
      'Transfer-Encoding: gzip, chunked',
      'Transfer-Encoding: deflate, chunked',
      'Transfer-Encoding: x-anything, chunked',
    ];
    for (const header of headers) {
      const answer = await raw(test.url, request(header));
      const name = header.slice(0, header.indexOf(':'));
      assert.equal(answer.status, 415, `${header}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.ok(String(answer.body.message).includes(name), `${header}: ${String(answer.body.message)}`);
    }
    assert.equal(await projects(), before, 'no project created');
  });

  it('a body without a coding, as identity, or chunked, is read', async () => {
    for (const header of [
      'Content-Encoding: identity',
      'Content-Encoding: Identity',
      'Transfer-Encoding: chunked',
      'X-None: 1',
    ]) {
      const answer = await raw(test.url, request(header));
      assert.equal(answer.status, 201, `${header}: ${JSON.stringify(answer.body)}`);
    }
  });
});
