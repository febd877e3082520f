import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../api/src/config/app-config';
import { auth, expectStatus, registerRunner } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * MESHTUNE_RUNNER_KEY: a runner-scope key given to the API and to the runners before either runs
 * (docker-compose.yml, a Kubernetes Secret, a Slurm job), accepted like MESHTUNE_ADMIN_KEY.
 */
describe('bootstrap keys from the environment', () => {
  const runnerKey = `mt_runner_env_${randomBytes(16).toString('hex')}`;
  let test: TestServer;

  before(async () => {
    test = await startTestServer({ runnerKey });
  });
  after(async () => test.close());

  async function activeKeys(): Promise<{ id: string; name: string; scope: string }[]> {
    const response = expectStatus(await test.http.get('/v1/api-keys?limit=200').set(...auth(test.adminKey)), 200);
    return response.body.items as { id: string; name: string; scope: string }[];
  }

  it('registers a runner with MESHTUNE_RUNNER_KEY, which has the runner scope only', async () => {
    const runner = await registerRunner(test, runnerKey, 'env-key-runner');
    assert.ok(runner.token.length > 0);
    expectStatus(await test.http.get('/v1/studies').set(...auth(runnerKey)), 403);
    const envKeys = (await activeKeys()).filter((key) => key.name === 'runner (MESHTUNE_RUNNER_KEY)');
    assert.deepEqual(
      envKeys.map((key) => key.scope),
      ['runner'],
    );
  });

  it('adds the key once: a restart does not duplicate it, and a revoked key stays revoked', async () => {
    await test.restart();
    const envKeys = (await activeKeys()).filter((key) => key.name === 'runner (MESHTUNE_RUNNER_KEY)');
    assert.equal(envKeys.length, 1);
    expectStatus(await test.http.delete(`/v1/api-keys/${envKeys[0].id}`).set(...auth(test.adminKey)), 204);
    await test.restart();
    expectStatus(
      await test.http
        .post('/v1/runners')
        .set(...auth(runnerKey))
        .send({ name: 'after-revoke' }),
      401,
    );
  });

  it('refuses a short runner key, or one equal to the admin key, at start-up', () => {
    assert.throws(() => loadConfig({ MESHTUNE_RUNNER_KEY: 'short' }), ConfigError);
    const same = 'mt_runner_same_0123456789abcdef';
    assert.throws(
      () => loadConfig({ MESHTUNE_RUNNER_KEY: same, MESHTUNE_ADMIN_KEY: same }),
      /must differ from MESHTUNE_ADMIN_KEY/,
    );
    assert.equal(loadConfig({}).runnerKey, null);
  });
});
