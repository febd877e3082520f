import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FailedAuthLimiter, MAX_TRACKED_CLIENTS } from '../../api/src/auth/failed-auth-limiter';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Class: a client that can present many addresses to the failed-authentication limiter
 * (docs/reliability.md, finding 35). The limiter counted failures per exact address, and once it
 * held more than 10,000 addresses every failure scanned all of them (`prune`), which removed only
 * addresses with no failure in the last minute: failures from 50,000 distinct addresses took 44 s
 * of event loop, 1.4 ms each from then on. One IPv6 client holds a /64 (2⁶⁴ addresses) and
 * behind `MESHTUNE_TRUST_PROXY=true` any client names its own; so the same client also escaped
 * the limit itself by changing its address. Now the limiter keeps a bounded LRU of clients and
 * counts an IPv6 address by its /64.
 */
describe('failed authentications from many addresses', () => {
  let test: TestServer;

  before(async () => {
    test = await startTestServer({ authFailuresPerMinute: 5, trustProxy: true });
  });
  after(() => test.close());

  it('counts the addresses of one IPv6 /64 as one client', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await test.http
        .get('/v1/studies')
        .set('Authorization', 'Bearer not-a-key-at-all')
        .set('X-Forwarded-For', `2001:db8:0:7::${(attempt + 1).toString(16)}`);
      assert.equal(response.status, 401, JSON.stringify(response.body));
    }
    const sameNetwork = await test.http
      .get('/v1/studies')
      .set('Authorization', 'Bearer not-a-key-at-all')
      .set('X-Forwarded-For', '2001:db8:0:7:ffff:1:2:3');
    assert.equal(sameNetwork.status, 429, JSON.stringify(sameNetwork.body));
    assert.equal(sameNetwork.body.code, 'TOO_MANY_REQUESTS');
    // Its IPv4-mapped spelling is the IPv4 address; another /64 and another IPv4 client are not limited.
    for (const other of ['2001:db8:0:8::1', '192.0.2.7', '::ffff:192.0.2.8']) {
      const response = await test.http
        .get('/v1/studies')
        .set('Authorization', 'Bearer not-a-key-at-all')
        .set('X-Forwarded-For', other);
      assert.equal(response.status, 401, `${other}: ${JSON.stringify(response.body)}`);
    }
  });

  it('holds a bounded number of clients however many addresses fail, and still limits the last one', () => {
    const limiter = new FailedAuthLimiter(3, 60_000);
    const now = Date.now();
    for (let index = 0; index < 3 * MAX_TRACKED_CLIENTS; index += 1) {
      limiter.recordFailure(`10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`, now);
    }
    assert.ok(limiter.trackedClients <= MAX_TRACKED_CLIENTS, `${limiter.trackedClients} clients held`);
    for (let attempt = 0; attempt < 3; attempt += 1) limiter.recordFailure('198.51.100.1', now);
    assert.equal(limiter.isBlocked('198.51.100.1', now), true);
    assert.equal(limiter.isBlocked('198.51.100.1', now + 60_001), false);
  });
});
