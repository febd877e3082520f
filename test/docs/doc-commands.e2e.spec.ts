import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createKey } from '../support/api-client';
import { startTestServer, type TestServer } from '../support/test-server';

const run = promisify(execFile);
const root = process.cwd();
const DOCUMENTS = ['README.md', 'docs/sdk.md', 'docs/runner.md'];

/**
 * The command blocks a reader is meant to copy, marked in the Markdown with
 * `<!-- doc-test expect="<regular expression>" -->` just before the fence, run as written
 * with bash against a real API: only the address (localhost:3000) and the key placeholders
 * (`$KEY`, `$ADMIN_KEY`, `<user key>`, `<runner key>`) are the test's. A stale flag, path or
 * field makes the block fail or its output miss the expectation.
 */
interface DocBlock {
  document: string;
  line: number;
  expect: RegExp;
  script: string;
}

function markedBlocks(document: string): DocBlock[] {
  const lines = readFileSync(join(root, document), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const marker = /^<!-- doc-test expect="(.+)" -->$/.exec(lines[index]);
    if (marker === null) continue;
    let fence = index + 1;
    while (lines[fence] === '') fence++; // Prettier puts a blank line between the comment and the fence
    assert.match(
      lines[fence] ?? '',
      /^```(bash|sh)$/,
      `${document}:${index + 1}: a doc-test marker must precede a bash block`,
    );
    const end = lines.indexOf('```', fence + 1);
    assert.ok(end > fence, `${document}:${index + 1}: unterminated block`);
    blocks.push({
      document,
      line: fence + 1,
      expect: new RegExp(marker[1]),
      script: lines.slice(fence + 1, end).join('\n'),
    });
  }
  return blocks;
}

describe('command blocks of the README and docs', () => {
  const blocks = DOCUMENTS.flatMap(markedBlocks);
  let test: TestServer;
  let keys: { user: string; runner: string };

  before(async () => {
    test = await startTestServer({ leaseRetryAfterSeconds: 1 });
    keys = { user: await createKey(test, 'user'), runner: await createKey(test, 'runner') };
  });
  after(async () => test.close());

  it('finds the marked blocks (a removed marker must not go unnoticed)', () => {
    assert.ok(blocks.length >= 4, `only ${blocks.length} marked blocks in ${DOCUMENTS.join(', ')}`);
  });

  for (const block of blocks) {
    it(`${block.document}:${block.line} runs as written`, async () => {
      const hostPort = new URL(test.url).host;
      const script = block.script
        .replaceAll(/(localhost|127\.0\.0\.1):3000/g, hostPort)
        .replaceAll('<user key>', keys.user)
        .replaceAll('<runner key>', keys.runner);
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: root,
        env: { ...process.env, KEY: keys.user, ADMIN_KEY: test.adminKey },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      assert.match(stdout, block.expect, `${block.document}:${block.line}: output was\n${stdout}`);
    });
  }
});
