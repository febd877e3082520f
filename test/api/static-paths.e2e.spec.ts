import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_STATUS } from '../../api/src/common/errors/error-codes';
import { rawExchange, type RawAnswer } from '../support/raw-http';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: paths under the routes that serve files (`/docs`, Swagger UI's files, served by
 * @fastify/static with a wildcard) that leave the folder served (docs/reliability.md, finding 57).
 * @fastify/static refuses them itself with an Error carrying `statusCode: 403` and no `code`; Nest
 * wraps a Fastify error in an HttpException only when it has both, so errorBody took it for an
 * unknown error: 500 INTERNAL_ERROR, logged as a failure, for anyone on the network without a key.
 * Now each is a 400 naming `path`, in the API's error body, and the files are served as before.
 * Sent on a raw socket: HTTP clients resolve `.` and `..` segments before sending.
 */
const get = (url: string, path: string): Promise<RawAnswer> =>
  rawExchange(url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);

/** Paths that leave the docs' folder (as written, percent-encoded, empty segments), and the answer each gets. */
const LEAVING = [
  '/docs/..',
  '/docs/.',
  '/docs/./',
  '/docs/%2e',
  '/docs/%2e%2e',
  '/docs/%2E%2E/%2E%2E/package.json',
  '/docs/../../../../etc/passwd',
  '/docs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/docs//etc/passwd',
  '/docs/swagger-ui.css/..',
  '/docs/x/../../package.json',
];

describe('paths leaving the folder of a file route', () => {
  let test: TestServer;

  before(async () => {
    test = await startTestServer();
  });
  after(() => test.close());

  it('a `.` or `..` segment or an empty one under /docs: 400 naming `path`, in the API error body, never 500', async () => {
    for (const path of LEAVING) {
      const answer = await get(test.url, path);
      assert.equal(answer.status, 400, `${path}: ${answer.status} ${answer.text.slice(0, 200)}`);
      const body = JSON.parse(answer.text) as Record<string, unknown>;
      assert.equal(body.code, 'VALIDATION_FAILED', path);
      assert.ok(String(body.code) in ERROR_STATUS);
      assert.deepEqual(
        (body.details as { field: string }[]).map((detail) => detail.field),
        ['path'],
        path,
      );
      assert.equal(typeof body.requestId, 'string');
      assert.equal(answer.headers['x-request-id'], body.requestId);
    }
  });

  it('the files under /docs are still served', async () => {
    for (const path of ['/docs', '/docs/', '/docs/swagger-ui.css', '/docs/swagger-ui-init.js']) {
      const answer = await get(test.url, path);
      assert.equal(answer.status, 200, `${path}: ${answer.status} ${answer.text.slice(0, 200)}`);
    }
  });
});
