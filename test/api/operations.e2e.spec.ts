import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auth,
  createKey,
  createStudy,
  expectStatus,
  lease,
  quadraticStudy,
  registerRunner,
  report,
} from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

describe('operations: metrics and logs', () => {
  let test: TestServer;
  const logged: string[] = [];
  const originalWrite = process.stdout.write.bind(process.stdout);

  before(async () => {
    test = await startTestServer({ logLevel: 'info' });
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
  });
  after(async () => {
    process.stdout.write = originalWrite;
    await test.close();
  });

  it('exposes Prometheus metrics for leases, completions and open trials', async () => {
    const userKey = await createKey(test, 'user');
    const runner = await registerRunner(test, await createKey(test, 'runner'));
    const study = await createStudy(test, userKey, quadraticStudy({ algorithm: { name: 'mads' } }));
    const leased = expectStatus(await lease(test, runner, String(study.id)), 200).body;
    expectStatus(await report(test, runner, String(leased.trial.id), 'complete', { outputs: { loss: 1 } }), 200);
    expectStatus(await lease(test, runner, String(study.id)), 200);
    const metrics = expectStatus(await test.http.get('/metrics'), 200);
    assert.match(metrics.headers['content-type'], /text\/plain/);
    assert.match(metrics.text, /^meshtune_leases_total\{result="leased"\} 2$/m);
    assert.match(metrics.text, /^meshtune_trials_completed_total\{status="completed"\} 1$/m);
    assert.match(metrics.text, /^meshtune_open_trials\{status="running"\} 1$/m);
    assert.match(metrics.text, /^meshtune_ask_duration_seconds_count 2$/m);
    assert.match(metrics.text, /^# TYPE meshtune_lease_expiries_total counter$/m);
  });

  it('writes one JSON log line per request with its request id, and never a key', async () => {
    const key = await createKey(test, 'user');
    const response = expectStatus(
      await test.http
        .get('/v1/studies')
        .set(...auth(key))
        .set('x-request-id', 'req-under-test'),
      200,
    );
    assert.equal(response.headers['x-request-id'], 'req-under-test');
    await new Promise((resolve) => setImmediate(resolve));
    const lines = logged
      .join('')
      .split('\n')
      .filter((line) => line.includes('req-under-test'));
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]);
    assert.equal(entry.message.route ?? entry.route, '/v1/studies');
    const all = logged.join('');
    assert.ok(!all.includes(key), 'a key appeared in the logs');
    assert.ok(!all.includes(test.adminKey), 'the admin key appeared in the logs');
  });
});
