/**
 * `npm run bench:hostile`: what hostile requests from a key holder cost the rest of the service.
 *
 * The API runs as a child process on its own embedded PostgreSQL (a user's default setup); this
 * process sends each class of hostile request (docs/reliability.md, "Threat model") several
 * times while a canary asks `GET /health` back to back. For each class it prints the answers, how
 * long the hostile request took, the canary's slowest answer during it, and the API's own
 * event-loop delay (prom-client's monitorEventLoopDelay figures from `/metrics`, which reset at
 * each scrape). The first row, valid study creations, is the reference: a class whose canary or
 * loop figures stand far above it froze the service for everyone.
 *
 *   node dist-bench/api/bench/hostile/run-hostile-bench.js [--repeat N] [--only TEXT]
 * `--only` keeps the reference row and the classes whose name contains TEXT (for profiling one, with
 * MESHTUNE_BENCH_API_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof").
 * Exits 1 when any hostile request got a 5xx or the API died.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { REPO, startApi } from '../support/api-process';
import { scrapeEventLoopDelay } from '../support/event-loop';

interface Context {
  url: string;
  userKey: string;
  runner: { id: string; token: string };
  studyId: string;
}

interface HostileRequest {
  method: 'GET' | 'POST';
  path: string;
  key: string;
  /** A JSON text, sent as it is (some classes are not expressible as a JSON.stringify of a value). */
  body?: string;
}

interface HostileClass {
  name: string;
  /** Requests sent at once for one repetition (several for the concurrency classes). */
  requests(context: Context): Promise<HostileRequest[]>;
}

function quadraticStudy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'hostile-bench',
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'integer', lower: -10, upper: 10 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ x: 2, y: 3 }],
    budget: { maxEvaluations: 1000, maxParallelTrials: 100, maxAttempts: 2, leaseSeconds: 600 },
    algorithm: { name: 'mads', seed: 1 },
    ...extra,
  };
}

/** `{"k0":0,"k1":0,…}` with `n` keys. */
function wideObject(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"k${i}":0`);
  return `{${parts.join(',')}}`;
}

function studyWithTrainingConfig(config: string): string {
  const text = JSON.stringify(quadraticStudy({ trainingConfig: { placeholder: 0 } }));
  return text.replace('{"placeholder":0}', config);
}

function nomadFile(lines: string[]): string {
  return JSON.stringify({ name: 'hostile-nomad', parameterFile: lines.join('\n') });
}

async function call(url: string, request: HostileRequest): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${url}${request.path}`, {
    method: request.method,
    headers: { authorization: `Bearer ${request.key}`, 'content-type': 'application/json' },
    body: request.body,
  });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

async function postJson(url: string, key: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`POST ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** A fresh leased trial of the context's study, for the classes that report on one. */
async function leasedTrialId(context: Context): Promise<string> {
  const body = await postJson(context.url, context.runner.token, `/v1/runners/${context.runner.id}/lease`, {
    studyId: context.studyId,
  });
  return String((body.trial as Record<string, unknown>).id);
}

const CLASSES: HostileClass[] = [
  {
    name: 'reference: valid study creation',
    requests: async (c) => [
      { method: 'POST', path: '/v1/studies', key: c.userKey, body: JSON.stringify(quadraticStudy()) },
    ],
  },
  {
    name: 'object of 100,000 keys in trainingConfig',
    requests: async (c) => [
      { method: 'POST', path: '/v1/studies', key: c.userKey, body: studyWithTrainingConfig(wideObject(100_000)) },
    ],
  },
  {
    name: 'nesting 100,000 levels deep in trainingConfig',
    requests: async (c) => [
      {
        method: 'POST',
        path: '/v1/studies',
        key: c.userKey,
        body: studyWithTrainingConfig(`${'{"a":'.repeat(100_000)}0${'}'.repeat(100_000)}`),
      },
    ],
  },
  {
    name: 'array of 500,000 numbers in trainingConfig',
    requests: async (c) => [
      {
        method: 'POST',
        path: '/v1/studies',
        key: c.userKey,
        body: studyWithTrainingConfig(`{"a":[${new Array(500_000).fill(1).join(',')}]}`),
      },
    ],
  },
  {
    name: 'outputs of 100,000 keys on complete',
    requests: async (c) => [
      {
        method: 'POST',
        path: `/v1/trials/${await leasedTrialId(c)}/complete`,
        key: c.runner.token,
        body: `{"outputs":${wideObject(100_000)}}`,
      },
    ],
  },
  {
    name: 'NOMAD file: FIXED_VARIABLE 0-99999999',
    requests: async (c) => [
      {
        method: 'POST',
        path: '/v1/studies/import/nomad',
        key: c.userKey,
        body: nomadFile([
          'DIMENSION 2',
          'BB_OUTPUT_TYPE OBJ',
          'X0 ( 0 0 )',
          'FIXED_VARIABLE 0-99999999',
          'MAX_BB_EVAL 10',
        ]),
      },
    ],
  },
  {
    name: 'NOMAD file: 11,000 X0 points, MAX_BB_EVAL 1e300',
    requests: async (c) => [
      {
        method: 'POST',
        path: '/v1/studies/import/nomad',
        key: c.userKey,
        body: nomadFile([
          'DIMENSION 2',
          'BB_OUTPUT_TYPE OBJ',
          ...Array.from({ length: 11_000 }, (_, i) => `X0 ( ${i % 5} ${i % 7} )`),
          'LOWER_BOUND * -10',
          'UPPER_BOUND * 10',
          'MAX_BB_EVAL 1e300',
        ]),
      },
    ],
  },
  {
    name: 'NOMAD cache file: one line of 200,000 spaces',
    requests: async (c) => [
      {
        method: 'POST',
        path: `/v1/studies/${c.studyId}/import/nomad-cache`,
        key: c.userKey,
        body: JSON.stringify({ cacheFile: `CACHE_HITS 0\n${' '.repeat(200_000)}\n` }),
      },
    ],
  },
  {
    name: 'NUL and lone surrogates in names and keys',
    requests: async (c) => [
      {
        method: 'POST',
        path: '/v1/studies',
        key: c.userKey,
        body: JSON.stringify(quadraticStudy({ name: 'a\u0000b', trainingConfig: { '\ud800': 1 } })),
      },
    ],
  },
  {
    name: '80 concurrent study lists (limit 100)',
    requests: async (c) =>
      Array.from({ length: 80 }, () => ({ method: 'GET' as const, path: '/v1/studies?limit=100', key: c.userKey })),
  },
];

interface Row {
  name: string;
  statuses: string;
  requestMs: number[];
  canaryMaxMs: number;
  canaryCount: number;
  loopMaxMs: number;
  loopP99Ms: number;
}

async function measure(context: Context, hostile: HostileClass, repeat: number): Promise<Row> {
  const statuses = new Map<number, number>();
  const requestMs: number[] = [];
  let canaryMaxMs = 0;
  let canaryCount = 0;
  let loopMaxMs = 0;
  let loopP99Ms = 0;
  for (let i = 0; i < repeat; i++) {
    const requests = await hostile.requests(context);
    await scrapeEventLoopDelay(context.url);
    let done = false;
    const canary = (async () => {
      while (!done) {
        const { ms } = await call(context.url, { method: 'GET', path: '/health', key: '' });
        canaryMaxMs = Math.max(canaryMaxMs, ms);
        canaryCount++;
      }
    })();
    const results = await Promise.all(requests.map((request) => call(context.url, request)));
    done = true;
    await canary;
    const loop = await scrapeEventLoopDelay(context.url);
    loopMaxMs = Math.max(loopMaxMs, loop.maxMs);
    loopP99Ms = Math.max(loopP99Ms, loop.p99Ms);
    for (const result of results) {
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      requestMs.push(result.ms);
    }
  }
  return {
    name: hostile.name,
    statuses: [...statuses].map(([status, count]) => `${count}×${status}`).join(' '),
    requestMs,
    canaryMaxMs,
    canaryCount,
    loopMaxMs,
    loopP99Ms,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function formatRows(rows: Row[]): string {
  const header = ['class', 'answers', 'request ms (median/max)', 'canary max ms', 'API loop p99/max ms'];
  const lines = rows.map((row) => [
    row.name,
    row.statuses,
    `${median(row.requestMs).toFixed(0)} / ${Math.max(...row.requestMs).toFixed(0)}`,
    `${row.canaryMaxMs.toFixed(0)} (${row.canaryCount} asks)`,
    `${row.loopP99Ms.toFixed(1)} / ${row.loopMaxMs.toFixed(1)}`,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  const format = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const repeatAt = argv.indexOf('--repeat');
  const repeat = repeatAt >= 0 ? Number(argv[repeatAt + 1]) : 3;
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : null;
  const classes = CLASSES.filter((c, index) => index === 0 || only === null || c.name.includes(only));
  const work = mkdtempSync(join(tmpdir(), 'meshtune-bench-hostile-'));
  const adminKey = `mt_admin_bench_${randomBytes(16).toString('hex')}`;
  const api = await startApi(null, join(work, 'api'), adminKey);
  let failed = false;
  try {
    const userKey = String((await postJson(api.url, adminKey, '/v1/api-keys', { name: 'user', scope: 'user' })).key);
    const runnerKey = String(
      (await postJson(api.url, adminKey, '/v1/api-keys', { name: 'runner', scope: 'runner' })).key,
    );
    // It keeps every trial it leases (the classes report hostile bodies on them): all the slots it may have.
    const registered = await postJson(api.url, runnerKey, '/v1/runners', {
      name: 'bench',
      gpus: 1,
      maxConcurrentTrials: 256,
    });
    const runner = { id: String(registered.id), token: String(registered.token) };
    const studyId = String((await postJson(api.url, userKey, '/v1/studies', quadraticStudy())).id);
    const context: Context = { url: api.url, userKey, runner, studyId };
    const rows: Row[] = [];
    for (const hostile of classes) {
      const row = await measure(context, hostile, repeat);
      process.stderr.write(`bench:hostile: ${row.name}: ${row.statuses}\n`);
      if (/×5\d\d/.test(row.statuses)) failed = true;
      rows.push(row);
    }
    if (api.child.exitCode !== null) failed = true;
    let commit = 'unknown';
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO }).toString().trim();
    } catch {
      // Not a git checkout: the figures stand without a commit.
    }
    process.stdout.write(
      `bench:hostile — ${new Date().toISOString().slice(0, 10)}, commit ${commit}, ${cpus().length} cores, ` +
        `Node ${process.version}, ${repeat} repetitions per class, API in its own process on embedded PostgreSQL\n\n`,
    );
    process.stdout.write(`${formatRows(rows)}\n`);
    if (failed) process.stdout.write('\nFAILED: a hostile request got a 5xx or the API died\n');
  } finally {
    api.child.kill('SIGTERM');
    await new Promise((resolveExit) => api.child.once('exit', resolveExit));
    rmSync(work, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench:hostile failed: ${String(error instanceof Error ? error.stack : error)}\n`);
  process.exit(1);
});
