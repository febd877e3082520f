import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createProject,
  createStudy,
  expectStatus,
  projectKey,
  quadraticStudy,
} from '../support/api-client';
import { rawExchange } from '../support/raw-http';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a header the API reads that may be given once, given twice (docs/reliability.md, finding
 * 64). Node keeps the first `Authorization` and the first `Content-Type` of a request and drops the
 * others in silence (its IncomingMessage list of headers that must not repeat), so a request with
 * two keys was served as the first key's, and a body labelled both `application/json` and
 * `text/plain` was read as JSON: a proxy, a log pipeline or a WAF in front that reads the last one
 * saw another caller or another media type than the API served (as finding 42 for a key given
 * twice in a body). Now a 400 VALIDATION_FAILED naming the header, before anything is read or
 * written.
 */
describe('a header the API reads, given twice', { timeout: 120_000 }, () => {
  let test: TestServer;
  let userKey: string;
  let otherKey: string;
  let studyId: string;

  before(async () => {
    test = await startTestServer();
    userKey = await createKey(test, 'user');
    otherKey = await projectKey(test, 'user', await createProject(test, { name: 'other-team' }));
    studyId = String((await createStudy(test, userKey, quadraticStudy({ name: 'mine' }))).id);
  });
  after(() => test.close());

  const studies = async (): Promise<number> =>
    expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200).body.total as number;

  it('is a 400 naming the header, and nothing is written', async () => {
    const body = JSON.stringify(quadraticStudy({ name: 'twice' }));
    const read = (headers: string): string =>
      `GET /v1/studies/${studyId} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`;
    const write = (headers: string): string =>
      `POST /v1/studies HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`;
    const json = 'Content-Type: application/json\r\n';
    // [what, request, the header named]
    const cases: [string, string, string][] = [
      [
        'own key then another team’s',
        read(`Authorization: Bearer ${userKey}\r\nAuthorization: Bearer ${otherKey}\r\n`),
        'Authorization',
      ],
      [
        'another team’s key then own',
        read(`Authorization: Bearer ${otherKey}\r\nAuthorization: Bearer ${userKey}\r\n`),
        'Authorization',
      ],
      [
        'an unknown key then own',
        read(`Authorization: Bearer mt_user_nope\r\nAuthorization: Bearer ${userKey}\r\n`),
        'Authorization',
      ],
      [
        'own key twice',
        read(`Authorization: Bearer ${userKey}\r\nauthorization: Bearer ${userKey}\r\n`),
        'Authorization',
      ],
      [
        'own key then Basic',
        read(`Authorization: Bearer ${userKey}\r\nAuthorization: Basic eDp5\r\n`),
        'Authorization',
      ],
      [
        'a write with two keys',
        write(`Authorization: Bearer ${otherKey}\r\nAuthorization: Bearer ${userKey}\r\n${json}`),
        'Authorization',
      ],
      [
        'JSON then text',
        write(`Authorization: Bearer ${userKey}\r\n${json}Content-Type: text/plain\r\n`),
        'Content-Type',
      ],
      [
        'text then JSON',
        write(`Authorization: Bearer ${userKey}\r\nContent-Type: text/plain\r\n${json}`),
        'Content-Type',
      ],
      [
        'UTF-16 then JSON',
        write(`Authorization: Bearer ${userKey}\r\nContent-Type: application/json; charset=utf-16\r\n${json}`),
        'Content-Type',
      ],
    ];
    const before = await studies();
    for (const [what, request, header] of cases) {
      const answer = await rawExchange(test.url, request);
      const parsed = JSON.parse(answer.text) as Record<string, unknown>;
      assert.equal(answer.status, 400, `${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
      assert.equal(parsed.code, 'VALIDATION_FAILED', what);
      assert.deepEqual(
        (parsed.details as { field: string }[]).map((detail) => detail.field),
        [header],
        what,
      );
      assert.equal(typeof parsed.requestId, 'string', what);
      assert.equal(answer.headers['x-request-id'], parsed.requestId, what);
    }
    assert.equal(await studies(), before, 'no study written');
  });

  it('still serves each header given once', async () => {
    expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(userKey)), 200);
    expectStatus(await test.http.get(`/v1/studies/${studyId}`).set(...auth(otherKey)), 404);
    const created = await createStudy(test, userKey, quadraticStudy({ name: 'once' }));
    assert.equal(created.name, 'once');
  });
});
