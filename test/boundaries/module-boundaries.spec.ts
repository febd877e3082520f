import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';

const root = process.cwd();
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');
const config = join(root, '.dependency-cruiser.cjs');

/** A statement reading or writing trials, trial_leases or trial_metrics (as SQL text in a source file). */
const TRIAL_TABLE_SQL = /\b(FROM|JOIN|UPDATE|INTO|TABLE)\s+"?(trials|trial_leases|trial_metrics)\b/i;

/** `file:line` of every line of TypeScript under `dir` that holds SQL on the trial tables. */
function sqlOnTrialTables(dir: string): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (TRIAL_TABLE_SQL.test(line)) hits.push(`${relative(root, path)}:${index + 1}`);
      });
  }
  return hits;
}

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
        'only-the-trial-store-touches-trials',
        {
          'api/src/studies/studies.service.ts':
            "import { Trial } from '../trials/trial.entity';\nexport const repository = () => Trial;\n",
          'api/src/trials/trial.entity.ts': 'export class Trial {}\n',
        },
      ],
      [
        'the-engine-through-its-commands',
        {
          'api/src/trials/lease-sweeper.ts':
            "import { EngineStore } from '../engine/engine-store';\nexport const s = EngineStore;\n",
          'api/src/engine/engine-store.ts': 'export class EngineStore {}\n',
        },
      ],
      [
        'controllers-never-touch-sql',
        {
          'api/src/trials/trials.controller.ts':
            "import { best } from './store/trial-store';\nexport const b = best;\n",
          'api/src/trials/store/trial-store.ts': 'export const best = 1;\n',
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

  it("a type-only import of a trial entity is no violation (only repositories and queries are the store's)", () => {
    const result = cruise({
      'api/src/trials/trial-response.mapper.ts':
        "import type { Trial } from './trial.entity';\nexport const id = (trial: Trial) => trial;\n",
      'api/src/trials/trial.entity.ts': 'export class Trial {}\n',
    });
    assert.equal(result.status, 0, result.output);
  });

  it('no SQL on the trial tables outside the trial store (api/src/trials/store/)', () => {
    const offenders = sqlOnTrialTables(join(root, 'api/src')).filter(
      (hit) => !hit.startsWith(join('api', 'src', 'trials', 'store') + sep),
    );
    assert.deepEqual(offenders, []);
    // The check itself finds what it looks for.
    assert.ok(sqlOnTrialTables(join(root, 'api/src')).some((hit) => hit.includes('trial-store.ts')));
  });
});
