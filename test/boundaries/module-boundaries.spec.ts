import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const root = process.cwd();
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');
const config = join(root, '.dependency-cruiser.cjs');

/** Runs the repository's boundary rules over a small tree of files laid out like the service's. */
function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshtune-boundaries-'));
  try {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs' } }));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const result = spawnSync(depcruise, ['--config', config, 'api/src'], { cwd: dir, encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('module boundaries (.dependency-cruiser.cjs)', { timeout: 120_000 }, () => {
  it('the repository itself has no violation', () => {
    const result = spawnSync(depcruise, ['--config', config, 'api/src'], { cwd: root, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('fails on each kind of deliberate violation', () => {
    const cases: [string, Record<string, string>][] = [
      [
        'mads-is-self-contained',
        {
          'api/src/mads/engine.ts': "import { x } from '../studies/studies.service';\nexport const y = x;\n",
          'api/src/studies/studies.service.ts': 'export const x = 1;\n',
        },
      ],
      [
        'no-circular',
        {
          'api/src/trials/a.ts': "import { b } from './b';\nexport const a = b;\n",
          'api/src/trials/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
        },
      ],
      [
        'controllers-never-touch-sql',
        {
          'api/src/health/health.controller.ts':
            "import { DataSource } from 'typeorm';\nexport const d = DataSource;\n",
          'node_modules/typeorm/index.js': 'exports.DataSource = class {};\n',
          'node_modules/typeorm/package.json': '{"name":"typeorm","main":"index.js"}\n',
        },
      ],
      [
        'math-is-a-leaf',
        {
          'api/src/math/rng.ts': "import { m } from '../mads/mads';\nexport const r = m;\n",
          'api/src/mads/mads.ts': 'export const m = 1;\n',
        },
      ],
    ];
    for (const [rule, files] of cases) {
      const result = cruise(files);
      assert.notEqual(result.status, 0, `${rule}: expected a violation\n${result.output}`);
      assert.match(result.output, new RegExp(`error ${rule}`), result.output);
    }
  });
});
