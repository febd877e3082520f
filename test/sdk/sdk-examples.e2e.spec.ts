import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const run = promisify(execFile);
const examplesDir = join(process.cwd(), 'examples', 'dist');

/** The scripts in examples/, compiled by `tsc -p examples`, run as a user would run them. */
describe('SDK examples', () => {
  let test: TestServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    assert.ok(existsSync(examplesDir), 'examples are not compiled: run `npx tsc -p examples` first');
    test = await startTestServer({ leaseRetryAfterSeconds: 1 });
    env = {
      ...process.env,
      MESHTUNE_URL: test.url,
      MESHTUNE_API_KEY: await createKey(test, 'user'),
      MESHTUNE_RUNNER_KEY: await createKey(test, 'runner'),
    };
  });
  after(async () => test.close());

  async function example(name: string): Promise<string> {
    const { stdout } = await run(process.execPath, [join(examplesDir, `${name}.js`)], { env, timeout: 120_000 });
    return stdout;
  }

  it('quickstart', async () => {
    const output = await example('quickstart');
    assert.match(output, /study \S+ created/);
    assert.match(output, /study completed/);
    assert.match(output, /best: trial #\d+ \{"x":[-\d.e]+,"y":-2\}/);
  });

  it('nomad-import', async () => {
    const output = await example('nomad-import');
    assert.match(output, /u, v; ignored .*BB_EXE/);
    assert.match(output, /worker finished: \d+ completed \(study_finished\)/);
  });

  it('errors-and-retries', async () => {
    const output = await example('errors-and-retries');
    assert.match(output, /not found: STUDY_NOT_FOUND/);
    assert.match(output, /cannot resume a stopped study: 409 INVALID_STATUS_TRANSITION/);
  });
});
