/**
 * `npm run bench:service`: trial cycles per second (lease + heartbeat + complete) of the meshtune
 * API with 1, 16 and 64 concurrent simulated runners, lease latency p50/p99, on a fresh study and
 * on studies that already hold 1,000 and 100,000 finished trials; then Optuna's RDB storage
 * (ask + tell) on the same PostgreSQL server with the same numbers of workers.
 *
 * One embedded PostgreSQL server (started here), the API as a child process on it (so the load
 * generator does not share its event loop), the load generator in this process, Optuna in a
 * Python child (venv made by api/bench/ensure-venv.sh). Everything on 127.0.0.1.
 *
 *   node dist-bench/api/bench/service/run-service-bench.js [--quick] [--duration S] [--warmup S]
 *        [--runners 1,16,64] [--prefill 0,1000,100000] [--no-optuna] [--no-mads] [--rows-only]
 *        [--optuna-threads] [--client http|fetch] [--pg-waits] [--pg-statements] [--pg-setting NAME=VALUE] [--keep]
 *        [--no-event-loop | --event-loop-only] [--loop-duration S] [--baseline-api PATH/main.js --baseline-name NAME]
 * Each row gets a fresh API process and a fresh study; see docs/benchmarks.md, "Service".
 *
 * Then the event-loop table (issue 15, item 6): the API's event-loop delay p50/p99/max
 * (monitorEventLoopDelay inside the API, read from its /metrics) while 4 runners run each MADS
 * study of event-loop-studies.ts to its end; with --baseline-api, the same rows for another build
 * (e.g. main's dist-bench/api/src/main.js), alternating with this build's in the same run.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { type CpuSample, sampleCpu } from './cpu';
import { type BenchRunner, type HttpClient, type LoadResult, type Objective, runLoad } from './load';
import { EVENT_LOOP_STUDIES, type EventLoopStudy } from './event-loop-studies';
import { prefillStudy } from './prefill';
import { scrapeApiMetrics } from '../support/event-loop';
import { REPO, startApi } from '../support/api-process';
import { formatTable, type Measurement, percentile } from './stats';

interface Options {
  warmupS: number;
  durationS: number;
  runners: number[];
  prefill: number[];
  optuna: boolean;
  optunaThreads: boolean;
  mads: boolean;
  rowsOnly: boolean;
  keep: boolean;
  pgWaits: boolean;
  pgStatements: boolean;
  pgSettings: string[];
  client: HttpClient;
  throughput: boolean;
  eventLoop: boolean;
  loopDurationS: number;
  baseline: { mainFile: string; name: string } | null;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (name: string, fallback: number[]): number[] =>
    value(name)
      ?.split(',')
      .map((item) => Number(item.trim())) ?? fallback;
  return {
    warmupS: Number(value('--warmup') ?? (quick ? 2 : 5)),
    durationS: Number(value('--duration') ?? (quick ? 3 : 10)),
    runners: list('--runners', [1, 16, 64]),
    prefill: list('--prefill', [0, 1_000, 100_000]),
    optuna: !argv.includes('--no-optuna'),
    optunaThreads: argv.includes('--optuna-threads'),
    mads: !argv.includes('--no-mads'),
    rowsOnly: argv.includes('--rows-only'),
    keep: argv.includes('--keep'),
    pgWaits: argv.includes('--pg-waits'),
    pgStatements: argv.includes('--pg-statements'),
    // --pg-setting name=value (repeatable): a PostgreSQL setting for the whole run, for experiments.
    pgSettings: argv.flatMap((arg, i) => (arg === '--pg-setting' && argv[i + 1] !== undefined ? [argv[i + 1]] : [])),
    client: value('--client') === 'fetch' ? 'fetch' : 'http',
    throughput: !argv.includes('--event-loop-only'),
    eventLoop: !argv.includes('--no-event-loop'),
    loopDurationS: Number(value('--loop-duration') ?? (quick ? 20 : 60)),
    baseline:
      value('--baseline-api') === undefined
        ? null
        : { mainFile: resolve(value('--baseline-api')!), name: value('--baseline-name') ?? 'baseline' },
  };
}

async function http(baseUrl: string, key: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`POST ${path}: HTTP ${response.status} ${text}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

const quadratic: Objective = (p) => ({ loss: Number(p.x) ** 2 + Number(p.y) ** 2 });

function quadraticStudy(name: string, parallel: number, algorithm: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    parameters: [
      { name: 'x', type: 'real', lower: -5, upper: 5 },
      { name: 'y', type: 'integer', lower: -10, upper: 10 },
    ],
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [{ x: 2, y: 3 }],
    budget: { maxEvaluations: 1_000_000, maxParallelTrials: parallel, maxAttempts: 2, leaseSeconds: 600 },
    algorithm,
  };
}

const MADS_DIMENSION = 8;
const madsObjective: Objective = (p) => {
  let loss = 0;
  for (let i = 0; i < MADS_DIMENSION; i += 1) loss += (Number(p[`x${i}`]) - 1 - i / 10) ** 2;
  return { loss };
};

function madsStudy(parallel: number): Record<string, unknown> {
  const names = Array.from({ length: MADS_DIMENSION }, (_, i) => `x${i}`);
  return {
    name: 'bench-mads',
    parameters: names.map((name) => ({ name, type: 'real', lower: -5, upper: 5 })),
    outputs: [{ name: 'loss', type: 'objective' }],
    x0: [Object.fromEntries(names.map((name) => [name, -3]))],
    budget: { maxEvaluations: 1_000_000, maxParallelTrials: parallel, maxAttempts: 2, leaseSeconds: 600 },
    algorithm: { name: 'mads', seed: 1 },
  };
}

/**
 * CPU use of each party in the window, as % of one core and as CPU milliseconds per cycle: the
 * latter does not depend on how many cores the machine has, so it tells what a bigger one needs.
 */
function cpuNote(before: CpuSample, after: CpuSample, seconds: number, cycles: number): string {
  // A PostgreSQL backend that exits inside the window takes its CPU time with it: '?' then.
  const pct = (a: number, b: number): string => (b < a ? '?' : `${Math.round((100 * (b - a)) / seconds)}`);
  const perCycle = (a: number, b: number): string =>
    b < a || cycles === 0 ? '?' : (((b - a) * 1000) / cycles).toFixed(2);
  return (
    `CPU % api/pg/load ${pct(before.api, after.api)}/${pct(before.postgres, after.postgres)}/${pct(before.client, after.client)}` +
    `, CPU ms/cycle ${perCycle(before.api, after.api)}/${perCycle(before.postgres, after.postgres)}/${perCycle(before.client, after.client)}`
  );
}

/**
 * --pg-waits: samples pg_stat_activity of the API's connections every 10 ms while `running` is
 * pending and prints what the backends were doing (state, wait event, query), most frequent first.
 */
async function samplePgActivity(db: Client, running: Promise<unknown>): Promise<void> {
  const counts = new Map<string, number>();
  let done = false;
  void running.finally(() => (done = true));
  let samples = 0;
  while (!done) {
    const rows = (
      await db.query(
        `SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      )
    ).rows as { state: string; wait: string; query: string }[];
    samples += 1;
    for (const row of rows) {
      if (row.state === 'idle') continue;
      const key = `${row.state} | ${row.wait} | ${row.query}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  process.stderr.write(`pg_stat_activity, ${samples} samples (busy backends per sample):\n`);
  for (const [key, count] of [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    process.stderr.write(`  ${(count / samples).toFixed(2).padStart(6)}  ${key}\n`);
  }
}

interface ApiContext {
  databaseUrl: string;
  work: string;
  adminKey: string;
  userKey: string;
  runners: BenchRunner[];
}

/** SIGKILLs the API, then ends its PostgreSQL sessions so that no transaction of it lingers. */
async function killApi(db: Client, api: { child: ChildProcess }): Promise<void> {
  const exited = new Promise((resolveExit) => api.child.once('exit', resolveExit));
  if (process.env.MESHTUNE_BENCH_API_NODE_OPTIONS?.includes('--cpu-prof') === true) {
    // A second SIGINT makes the API call process.exit at once, which writes the CPU profile.
    api.child.kill('SIGINT');
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    api.child.kill('SIGINT');
    await Promise.race([exited, new Promise((resolveWait) => setTimeout(resolveWait, 5_000))]);
  }
  try {
    process.kill(-api.child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await exited;
  await db.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  );
}

/**
 * One row: a fresh API process on the shared database, a new study (pre-filled if asked), the
 * load for warm-up + duration, then the API killed under whatever was still in flight (so a slow
 * configuration cannot leave queued work that slows the next row).
 */
async function measureMeshtune(
  db: Client,
  context: ApiContext,
  system: string,
  runnerCount: number,
  study: Record<string, unknown>,
  prefill: { count: number; rowsOnly: boolean },
  objective: Objective,
  options: Options,
): Promise<Measurement> {
  const api = await startApi(context.databaseUrl, join(context.work, 'api'), context.adminKey);
  let load: LoadResult;
  let before: CpuSample | null = null;
  let after: CpuSample | null = null;
  try {
    const studyId = String((await http(api.url, context.userKey, '/v1/studies', study)).id);
    await prefillStudy(db, studyId, context.runners[0].id, prefill.count, prefill.rowsOnly);
    const apiPid = api.child.pid!;
    const windowEnd = (options.warmupS + options.durationS) * 1000;
    const t1 = setTimeout(() => (before = sampleCpu(apiPid)), options.warmupS * 1000);
    const t2 = setTimeout(() => (after = sampleCpu(apiPid)), windowEnd);
    const running = runLoad(
      options.client,
      api.url,
      context.runners.slice(0, runnerCount),
      studyId,
      objective,
      options.warmupS * 1000,
      options.durationS * 1000,
    );
    const stopper = new Promise<void>((resolveStop) => setTimeout(resolveStop, windowEnd + 20)).then(() =>
      killApi(db, api),
    );
    const statementsReset = options.pgStatements
      ? new Promise((resolveReset) => setTimeout(resolveReset, options.warmupS * 1000)).then(() =>
          db.query('SELECT pg_stat_statements_reset()'),
        )
      : null;
    if (options.pgWaits) await samplePgActivity(db, Promise.race([running, stopper]));
    await stopper;
    if (statementsReset !== null) {
      await statementsReset;
      await printTopStatements(db);
    }
    load = await running;
    clearTimeout(t1);
    clearTimeout(t2);
  } catch (error) {
    if (api.child.exitCode === null && api.child.signalCode === null) await killApi(db, api);
    throw error;
  }
  const notes: string[] = [
    `${load.leaseMs.length} leases${load.censoredLeases > 0 ? ` (${load.censoredLeases} unanswered at the end, counted at their age)` : ''}`,
    `heartbeat/complete p50 ${percentile(load.heartbeatMs, 50).toFixed(1)}/${percentile(load.completeMs, 50).toFixed(1)} ms`,
  ];
  if (before !== null && after !== null) notes.push(cpuNote(before, after, options.durationS, load.cycles));
  if (load.idleLeases > 0) notes.push(`${load.idleLeases} leases answered 204`);
  if (load.errors > 0) notes.push(`${load.errors} errors, first: ${load.firstError}`);
  if (load.studyEnded !== null) notes.push(load.studyEnded);
  return {
    system,
    workers: runnerCount,
    prefilled: prefill.count,
    cycles: load.cycles,
    seconds: load.seconds,
    cyclesPerSecond: load.cycles / load.seconds,
    p50: percentile(load.leaseMs, 50),
    p99: percentile(load.leaseMs, 99),
    note: notes.join('; '),
  };
}

interface EventLoopRow {
  build: string;
  study: string;
  runners: number;
  evaluations: number;
  seconds: number;
  leaseP99: number;
  loopP50: number;
  loopP99: number;
  loopMax: number;
  /** CPU ms of the API process (every thread) and of PostgreSQL per evaluation. */
  apiCpuMs: number;
  pgCpuMs: number;
  note: string;
}

/**
 * One event-loop row: a fresh API process of `build`, the study run by its runners until it ends
 * (or --loop-duration passes); the API's event-loop histogram is reset (scraped) once the study
 * exists and read when the load is over, so it covers the study's run only.
 */
async function measureEventLoop(
  db: Client,
  context: ApiContext,
  build: { mainFile?: string; name: string },
  subject: EventLoopStudy,
  options: Options,
): Promise<EventLoopRow> {
  const api = await startApi(context.databaseUrl, join(context.work, 'api'), context.adminKey, build.mainFile);
  try {
    const studyId = String((await http(api.url, context.userKey, '/v1/studies', subject.study)).id);
    const start = await scrapeApiMetrics(api.url);
    const cpuBefore = sampleCpu(api.child.pid!);
    const load = await runLoad(
      options.client,
      api.url,
      context.runners.slice(0, subject.runners),
      studyId,
      subject.objective,
      0,
      options.loopDurationS * 1000,
    );
    const cpuAfter = sampleCpu(api.child.pid!);
    const end = await scrapeApiMetrics(api.url);
    const loop = end.eventLoop;
    const notes = [
      load.studyEnded ?? `study still active after ${options.loopDurationS} s`,
      `${end.engineRebuilds - start.engineRebuilds} engine rebuilds`,
    ];
    if (load.errors > 0) notes.push(`${load.errors} errors, first: ${load.firstError}`);
    return {
      build: build.name,
      study: subject.name,
      runners: subject.runners,
      evaluations: load.cycles,
      seconds: load.seconds,
      leaseP99: percentile(load.leaseMs, 99),
      loopP50: loop.p50Ms,
      loopP99: loop.p99Ms,
      loopMax: loop.maxMs,
      apiCpuMs: ((cpuAfter.api - cpuBefore.api) * 1000) / Math.max(1, load.cycles),
      pgCpuMs: ((cpuAfter.postgres - cpuBefore.postgres) * 1000) / Math.max(1, load.cycles),
      note: notes.join('; '),
    };
  } finally {
    await killApi(db, api);
  }
}

function formatEventLoopTable(rows: readonly EventLoopRow[]): string {
  const header = [
    'build',
    'study',
    'runners',
    'evaluations',
    's',
    'lease p99 ms',
    'loop p50 ms',
    'loop p99 ms',
    'loop max ms',
    'CPU ms/evaluation api/pg',
    'notes',
  ];
  const body = rows.map((row) => [
    row.build,
    row.study,
    String(row.runners),
    String(row.evaluations),
    row.seconds.toFixed(1),
    row.leaseP99.toFixed(1),
    row.loopP50.toFixed(1),
    row.loopP99.toFixed(1),
    row.loopMax.toFixed(1),
    `${row.apiCpuMs.toFixed(1)}/${row.pgCpuMs.toFixed(1)}`,
    row.note,
  ]);
  return [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** --pg-statements: the statements PostgreSQL spent most time on in the window (pg_stat_statements). */
async function printTopStatements(db: Client): Promise<void> {
  const { rows } = await db.query<{ calls: string; total: number; mean: number; plan: number; query: string }>(
    `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, total_plan_time AS plan,
            regexp_replace(query, '\\s+', ' ', 'g') AS query
       FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 12`,
  );
  for (const row of rows) {
    process.stderr.write(
      `  ${row.calls.padStart(6)} calls ${row.total.toFixed(0).padStart(6)} ms (mean ${row.mean.toFixed(3)}) plan ${row.plan.toFixed(0).padStart(5)} ms ${row.query.slice(0, 100)}\n`,
    );
  }
}

async function measureOptuna(
  db: Client,
  python: string,
  url: string,
  workers: number,
  prefilled: number,
  mode: 'process' | 'thread',
  options: Options,
): Promise<Measurement> {
  const script = join(REPO, 'api/bench/service/optuna_driver.py');
  const args = [script, '--url', url, '--workers', String(workers), '--mode', mode, '--prefill', String(prefilled)];
  args.push('--warmup', String(options.warmupS), '--duration', String(options.durationS));
  const out = execFileSync(python, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Workers abandoned inside an ask or tell leave sessions behind; end them before the next row.
  await db.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'optuna_bench' AND pid <> pg_backend_pid()`,
  );
  const result = JSON.parse(out.trim().split('\n').pop()!) as {
    optuna: string;
    cycles: number;
    seconds: number;
    askP50: number | null;
    askP99: number | null;
    asks: number;
    primeSeconds: number;
    censoredAsks: number;
    errors: number;
    firstError: string | null;
  };
  return {
    system: `Optuna ${result.optuna} RDB (${mode === 'process' ? 'processes' : 'threads'})`,
    workers,
    prefilled,
    cycles: result.cycles,
    seconds: result.seconds,
    cyclesPerSecond: result.cycles / result.seconds,
    p50: result.askP50 ?? Number.NaN,
    p99: result.askP99 ?? Number.NaN,
    note: [
      `${result.asks} asks${result.censoredAsks > 0 ? ` (${result.censoredAsks} unanswered at the end, counted at their age)` : ''}`,
      `first ask+tell before the window ${result.primeSeconds.toFixed(1)} s`,
      ...(result.errors > 0 ? [`${result.errors} errors (tracebacks on stderr)`] : []),
    ].join('; '),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const work = mkdtempSync(join(tmpdir(), 'meshtune-bench-service-'));
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter this folder.
  chmodSync(work, 0o755);
  process.stderr.write(`bench:service: working in ${work}\n`);
  const python =
    options.optuna && options.throughput
      ? execFileSync(
          'bash',
          [
            join(REPO, 'api/bench/ensure-venv.sh'),
            join(REPO, 'api/bench/service/requirements.txt'),
            'bench-service-venv',
          ],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        ).trim()
      : '';
  const database = await startEmbeddedPostgres(join(work, 'pg'), null, {
    settings: [
      ...(options.pgStatements
        ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track_planning=on']
        : []),
      ...options.pgSettings,
    ],
  });
  // The bench's own queries (statistics, terminating backends, Optuna's database) need the owner.
  const db = new Client({ connectionString: database.ownerUrl });
  const rows: Measurement[] = [];
  const record = (row: Measurement): void => {
    rows.push(row);
    process.stderr.write(`${formatTable([row]).split('\n')[2]}\n`);
  };
  try {
    await db.connect();
    if (options.pgStatements) await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await db.query('CREATE DATABASE optuna_bench');
    const pgVersion = ((await db.query('SHOW server_version')).rows[0] as { server_version: string }).server_version;
    const adminKey = `mt_admin_bench_${randomBytes(16).toString('hex')}`;
    // Keys and runners, made once through a first API process; every row then starts its own.
    const setup = await startApi(database.ownerUrl, join(work, 'api'), adminKey);
    const context: ApiContext = { databaseUrl: database.ownerUrl, work, adminKey, userKey: '', runners: [] };
    try {
      const runnerKey = String(
        (await http(setup.url, adminKey, '/v1/api-keys', { name: 'bench runners', scope: 'runner' })).key,
      );
      context.userKey = String(
        (await http(setup.url, adminKey, '/v1/api-keys', { name: 'bench user', scope: 'user' })).key,
      );
      const maxRunners = Math.max(
        ...(options.throughput ? options.runners : []),
        options.mads && options.throughput ? 16 : 0,
        ...(options.eventLoop ? EVENT_LOOP_STUDIES.map((subject) => subject.runners) : []),
      );
      for (let i = 0; i < maxRunners; i += 1) {
        const body = await http(setup.url, runnerKey, '/v1/runners', {
          name: `bench-${i}`,
          gpus: 1,
          labels: ['bench'],
        });
        context.runners.push({ id: String(body.id), token: String(body.token) });
      }
    } finally {
      await killApi(db, setup);
    }

    const variants: { count: number; rowsOnly: boolean }[] = (options.throughput ? options.prefill : []).map(
      (count) => ({
        count,
        rowsOnly: false,
      }),
    );
    if (options.rowsOnly) {
      const largest = Math.max(...options.prefill);
      if (largest > 0) variants.push({ count: largest, rowsOnly: true });
    }
    for (const variant of variants) {
      for (const count of options.runners) {
        const study = quadraticStudy(`bench-random-${count}-${variant.count}`, Math.max(64, count), {
          name: 'random',
          seed: count,
        });
        const system = variant.rowsOnly ? 'meshtune random (rows only, empty engine state)' : 'meshtune random';
        record(await measureMeshtune(db, context, system, count, study, variant, quadratic, options));
      }
    }
    if (options.mads && options.throughput) {
      record(
        await measureMeshtune(
          db,
          context,
          `meshtune mads (${MADS_DIMENSION}-D)`,
          16,
          madsStudy(64),
          { count: 0, rowsOnly: false },
          madsObjective,
          options,
        ),
      );
    }
    const loopRows: EventLoopRow[] = [];
    if (options.eventLoop) {
      const builds = [
        ...(options.baseline === null ? [] : [options.baseline]),
        { mainFile: undefined, name: 'this build' },
      ];
      for (const subject of EVENT_LOOP_STUDIES) {
        for (const build of builds) {
          const row = await measureEventLoop(db, context, build, subject, options);
          loopRows.push(row);
          process.stderr.write(`${formatEventLoopTable([row]).split('\n')[2]}\n`);
        }
      }
    }
    if (options.optuna && options.throughput) {
      // The same server and the same transport as the API (its Unix socket when it has one).
      const optunaUrl = new URL(database.ownerUrl);
      const url = `postgresql+psycopg2://${optunaUrl.username}:${optunaUrl.password}@${optunaUrl.host}/optuna_bench${optunaUrl.search}`;
      for (const prefill of options.prefill) {
        for (const count of options.runners)
          record(await measureOptuna(db, python, url, count, prefill, 'process', options));
      }
      if (options.optunaThreads) {
        for (const count of options.runners)
          record(await measureOptuna(db, python, url, count, options.prefill[0], 'thread', options));
      }
    }
    const cpu = cpus();
    process.stdout.write(
      [
        `meshtune bench:service — ${started.toISOString()}`,
        `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; API, PostgreSQL ${pgVersion} and the load generator share these cores`,
        `node ${process.version}; warm-up ${options.warmupS} s, measured ${options.durationS} s per row; one cycle = lease + heartbeat + complete (meshtune) or ask + tell (Optuna)`,
        '',
        ...(rows.length > 0 ? [formatTable(rows), ''] : []),
        ...(loopRows.length > 0
          ? [
              'event-loop delay of the API during MADS studies (monitorEventLoopDelay via /metrics, 10 ms resolution: an idle loop reads ~10 ms)',
              '',
              formatEventLoopTable(loopRows),
              '',
            ]
          : []),
      ].join('\n'),
    );
  } finally {
    await db.end().catch(() => undefined);
    await database.stop();
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:service failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
