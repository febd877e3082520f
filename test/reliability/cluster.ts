/**
 * Harness of the reliability tests and the soak: API processes (`node dist/api/src/main.js`) as
 * children, an embedded PostgreSQL owned by the test so that it survives `kill -9` of an API, and
 * simulated runners speaking the runner protocol over HTTP (fetch) that record what they saw.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';

/** The compiled API entry point, next to this file in dist/. */
export const MAIN_JS = join(__dirname, '..', '..', 'api', 'src', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function newAdminKey(): string {
  return `mt_admin_rel_${randomBytes(16).toString('hex')}`;
}

export interface ApiProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** stdout and stderr, as written. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export interface ApiOptions {
  adminKey: string;
  /** DATABASE_URL: an external database, as the application role. */
  databaseUrl?: string;
  /** MESHTUNE_MIGRATION_DATABASE_URL: the schema owner, for migrations. */
  migrationDatabaseUrl?: string;
  dataDir?: string;
  port?: number;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** Spawns one API process and waits until `GET /health/ready` answers 200. */
export async function spawnApi(options: ApiOptions): Promise<ApiProcess> {
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    HOST: '127.0.0.1',
    MESHTUNE_ADMIN_KEY: options.adminKey,
    MESHTUNE_LOG_LEVEL: 'warn',
    MESHTUNE_LEASE_SWEEP_MS: '200',
    MESHTUNE_RETRY_AFTER_SECONDS: '1',
    MESHTUNE_AUTH_FAILURES_PER_MINUTE: '1000000',
    // 64 simulated runners without think time run hundreds of trials a second through one project.
    MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '0',
    MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '0',
    ...(options.databaseUrl !== undefined ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.migrationDatabaseUrl !== undefined
      ? { MESHTUNE_MIGRATION_DATABASE_URL: options.migrationDatabaseUrl }
      : {}),
    ...(options.dataDir !== undefined ? { MESHTUNE_DATA_DIR: options.dataDir } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, [MAIN_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const handle: ApiProcess = {
    url,
    port,
    child,
    output: () => chunks.join(''),
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`API exited before it was ready:\n${handle.output().slice(-3000)}`);
    try {
      const response = await fetch(`${url}/health/ready`);
      if (response.status === 200) return handle;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`API not ready after ${options.readyTimeoutMs ?? 90_000} ms:\n${handle.output().slice(-3000)}`);
}

/** A parsed JSON answer of the API; the tests check its shape as they read it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of many shapes
export type JsonBody = any;

export interface HttpResult {
  status: number;
  body: JsonBody;
  headers: Headers;
}

/** One JSON request; throws on network errors (connection refused or reset). */
export async function call(
  url: string,
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let parsed: unknown = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export async function expectCall(
  url: string,
  method: string,
  path: string,
  key: string | null,
  body: unknown,
  status: number,
): Promise<JsonBody> {
  const result = await call(url, method, path, key, body);
  if (result.status !== status) {
    throw new Error(`${method} ${path}: expected ${status}, got ${result.status} ${JSON.stringify(result.body)}`);
  }
  return result.body;
}

export async function createApiKey(url: string, adminKey: string, scope: 'user' | 'runner' | 'admin'): Promise<string> {
  const body = await expectCall(url, 'POST', '/v1/api-keys', adminKey, { name: `${scope} key`, scope }, 201);
  return body.key as string;
}

/** A deterministic objective, so every stored output can be checked against its parameters. */
export function objectiveOf(parameters: Record<string, number | string>): number {
  let sum = 0;
  for (const [name, value] of Object.entries(parameters)) {
    if (typeof value !== 'number') continue;
    const shift = name.length % 3;
    sum += (value - shift) ** 2 + Math.sin(3 * value);
  }
  return Number(sum.toPrecision(12));
}

/** What all runners of one run saw; the checks compare it with the database. */
export interface RunRecord {
  /** Every 200 lease answer: `trialId#attempt` → runner id (a duplicate key is a double lease). */
  leases: Map<string, string>;
  doubleLeases: string[];
  /** Reports answered 200: trial id → outputs sent. */
  accepted: Map<string, Record<string, number>>;
  /** Reports answered 409 LEASE_LOST (dropped, as the protocol says). */
  leaseLost: number;
  /** Requests that failed on the network (an API down) and were retried. */
  networkRetries: number;
  /** 5xx answers (always a bug). */
  serverErrors: string[];
}

export function newRunRecord(): RunRecord {
  return {
    leases: new Map(),
    doubleLeases: [],
    accepted: new Map(),
    leaseLost: 0,
    networkRetries: 0,
    serverErrors: [],
  };
}

export interface SimulatedRunner {
  id: string;
  token: string;
}

export async function registerRunners(url: string, runnerKey: string, count: number): Promise<SimulatedRunner[]> {
  const runners: SimulatedRunner[] = [];
  for (let index = 0; index < count; index += 1) {
    const body = await expectCall(
      url,
      'POST',
      '/v1/runners',
      runnerKey,
      { name: `sim-${index}`, gpus: 1, gpuMemoryMb: 1024, labels: ['sim'] },
      201,
    );
    runners.push({ id: body.id as string, token: body.token as string });
  }
  return runners;
}

export interface RunnerLoopOptions {
  /** API base URLs; request n of this runner goes to urls[(offset + n) % urls.length]. */
  urls: () => string[];
  studyId: string;
  record: RunRecord;
  offset: number;
  /** Simulated training time per trial. */
  workMs?: () => number;
  /** Stop when this returns true (checked between trials). */
  shouldStop?: () => boolean;
  /** Give up after this long without finishing. */
  deadline: number;
}

/**
 * The runner protocol with retries: lease, "train", complete; network errors (API killed) are
 * retried on the next URL; a report is retried with the same payload until it gets an answer.
 */
export async function runnerLoop(runner: SimulatedRunner, options: RunnerLoopOptions): Promise<void> {
  let turn = options.offset;
  const nextUrl = (): string => {
    const urls = options.urls();
    turn += 1;
    return urls[turn % urls.length];
  };
  const retrying = async (method: string, path: string, body: unknown): Promise<HttpResult> => {
    for (;;) {
      if (Date.now() > options.deadline) throw new Error(`runner ${runner.id}: deadline passed`);
      try {
        const result = await call(nextUrl(), method, path, runner.token, body);
        if (result.status >= 500) {
          options.record.serverErrors.push(`${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
          await sleep(50);
          continue;
        }
        return result;
      } catch {
        options.record.networkRetries += 1;
        await sleep(100);
      }
    }
  };
  while (!(options.shouldStop?.() ?? false)) {
    const leased = await retrying('POST', `/v1/runners/${runner.id}/lease`, { studyId: options.studyId });
    if (leased.status === 204) {
      if (leased.headers.get('meshtune-study-status') !== 'active') return;
      await sleep(20 + Math.random() * 30);
      continue;
    }
    if (leased.status !== 200) throw new Error(`lease: ${leased.status} ${JSON.stringify(leased.body)}`);
    const trial = leased.body.trial as { id: string; attempt: number; parameters: Record<string, number | string> };
    const leaseKey = `${trial.id}#${trial.attempt}`;
    if (options.record.leases.has(leaseKey)) options.record.doubleLeases.push(leaseKey);
    options.record.leases.set(leaseKey, runner.id);
    const workMs = options.workMs?.() ?? 0;
    if (workMs > 0) await sleep(workMs);
    const outputs = { loss: objectiveOf(trial.parameters) };
    const report = await retrying('POST', `/v1/trials/${trial.id}/complete`, { outputs });
    if (report.status === 200) {
      options.record.accepted.set(trial.id, outputs);
    } else if (report.status === 409 && report.body?.code === 'LEASE_LOST') {
      options.record.leaseLost += 1;
    } else {
      throw new Error(`complete ${trial.id}: ${report.status} ${JSON.stringify(report.body)}`);
    }
  }
}

export interface StudyCheck {
  status: string;
  stopReason: string | null;
  evaluationCount: number;
  completed: number;
  failed: number;
  problems: string[];
}

/**
 * Reads the study back from PostgreSQL and lists every broken guarantee: leases (one per
 * trial attempt, never two open at once, the completed one held by the reporter), results (each
 * accepted report stored once, with its outputs), counts (evaluation_count = completed + failed,
 * the engine's own count equal to it), told flags, point keys.
 */
export async function checkStudy(
  databaseUrl: string,
  studyId: string,
  record: RunRecord,
  restoreEvaluationCount: (algorithm: string, engineState: unknown, operations: unknown[]) => number,
): Promise<StudyCheck> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const problems: string[] = [];
    const study = (
      await client.query(
        `SELECT status, stop_reason, evaluation_count, algorithm, engine_state, engine_version,
                engine_snapshot_version, max_evaluations
           FROM studies WHERE id = $1`,
        [studyId],
      )
    ).rows[0];
    const operations = (
      await client.query(
        'SELECT version, operation FROM engine_events WHERE study_id = $1 AND version > $2 ORDER BY version',
        [studyId, study.engine_snapshot_version],
      )
    ).rows as { version: number; operation: unknown }[];
    const trials = (
      await client.query(
        `SELECT id, number, status, attempt, runner_id, outputs, parameters, told, point_key, evaluation_number,
                objective, feasible
           FROM trials WHERE study_id = $1`,
        [studyId],
      )
    ).rows as {
      id: string;
      number: number;
      status: string;
      attempt: number;
      runner_id: string | null;
      outputs: Record<string, number> | null;
      parameters: Record<string, number | string>;
      told: boolean;
      point_key: string;
      evaluation_number: number | null;
      objective: number | null;
      feasible: boolean | null;
    }[];
    const leases = (
      await client.query(
        `SELECT l.trial_id, l.attempt, l.runner_id, l.outcome, l.leased_at, l.ended_at
           FROM trial_leases l JOIN trials t ON t.id = l.trial_id WHERE t.study_id = $1
          ORDER BY l.trial_id, l.attempt`,
        [studyId],
      )
    ).rows as {
      trial_id: string;
      attempt: number;
      runner_id: string;
      outcome: string | null;
      leased_at: Date;
      ended_at: Date | null;
    }[];
    const leasesByTrial = new Map<string, typeof leases>();
    for (const lease of leases)
      leasesByTrial.set(lease.trial_id, [...(leasesByTrial.get(lease.trial_id) ?? []), lease]);

    if (record.doubleLeases.length > 0)
      problems.push(`runners got the same trial attempt twice: ${record.doubleLeases.slice(0, 5).join(', ')}`);
    if (record.serverErrors.length > 0) problems.push(`server errors: ${record.serverErrors.slice(0, 5).join(' | ')}`);

    const completed = trials.filter((trial) => trial.status === 'completed');
    const failed = trials.filter((trial) => trial.status === 'failed');
    for (const trial of trials) {
      const own = leasesByTrial.get(trial.id) ?? [];
      // A late report accepted after the lease expired (nobody re-leased it) finishes the trial at
      // attempt n + 1 with n lease rows; every other state has one row per attempt started.
      const allowed =
        trial.status === 'running'
          ? [trial.attempt]
          : trial.status === 'pending'
            ? [trial.attempt - 1]
            : [trial.attempt, trial.attempt - 1];
      if (!allowed.includes(own.length)) {
        problems.push(`trial ${trial.number} (${trial.status}, attempt ${trial.attempt}) has ${own.length} lease rows`);
      }
      own.forEach((lease, index) => {
        if (lease.attempt !== index + 1) problems.push(`trial ${trial.number}: lease attempts not 1..n`);
        const next = own[index + 1];
        if (next !== undefined && (lease.ended_at === null || lease.ended_at > next.leased_at)) {
          problems.push(
            `trial ${trial.number}: attempt ${next.attempt} leased while attempt ${lease.attempt} was open`,
          );
        }
      });
      const open = own.filter((lease) => lease.outcome === null);
      if (open.length > (trial.status === 'running' ? 1 : 0))
        problems.push(`trial ${trial.number}: ${open.length} open leases`);
      if (trial.status === 'completed') {
        const done = own.filter((lease) => lease.outcome === 'completed');
        if (done.length > 1) problems.push(`trial ${trial.number}: completed by ${done.length} leases`);
        const expectedLoss = objectiveOf(trial.parameters);
        if (trial.outputs?.loss !== expectedLoss) {
          problems.push(
            `trial ${trial.number}: stored loss ${trial.outputs?.loss} is not f(parameters) = ${expectedLoss}`,
          );
        }
      }
      const told = trial.status === 'completed' || trial.status === 'failed';
      if (trial.told !== told) problems.push(`trial ${trial.number} (${trial.status}) told=${trial.told}`);
      if ((trial.evaluation_number !== null) !== trial.told) {
        problems.push(`trial ${trial.number}: told=${trial.told} but evaluation number ${trial.evaluation_number}`);
      }
      // The engine's reading stored at tell time: f is the loss (minimised, no constraint).
      if (trial.status === 'completed' && (trial.objective !== trial.outputs?.loss || trial.feasible !== true)) {
        problems.push(
          `trial ${trial.number}: stored f ${trial.objective} / feasible ${trial.feasible} disagree with its loss`,
        );
      }
    }
    for (const [trialId, outputs] of record.accepted) {
      const trial = trials.find((candidate) => candidate.id === trialId);
      if (trial === undefined) problems.push(`accepted report of unknown trial ${trialId}`);
      else if (trial.status !== 'completed' || trial.outputs?.loss !== outputs.loss) {
        problems.push(
          `accepted report of trial ${trial.number} lost: status ${trial.status}, outputs ${JSON.stringify(trial.outputs)}`,
        );
      }
    }
    const finished = completed.length + failed.length;
    if (study.evaluation_count !== finished) {
      problems.push(
        `evaluation_count ${study.evaluation_count} != completed ${completed.length} + failed ${failed.length}`,
      );
    }
    const versions = operations.map((row) => row.version).join(',');
    const expected = Array.from(
      { length: study.engine_version - study.engine_snapshot_version },
      (_, i) => study.engine_snapshot_version + i + 1,
    ).join(',');
    if (versions !== expected) problems.push(`engine events after the snapshot are not exactly ${expected}`);
    const engineCount = restoreEvaluationCount(
      study.algorithm as string,
      study.engine_state,
      operations.map((row) => row.operation),
    );
    if (engineCount !== study.evaluation_count) {
      problems.push(`the engine counts ${engineCount} evaluations, the study ${study.evaluation_count}`);
    }
    const keys = new Set(trials.map((trial) => trial.point_key));
    if (keys.size !== trials.length) problems.push(`${trials.length - keys.size} duplicate point keys`);
    // The history's cursor: evaluation numbers are exactly 1..evaluation_count, no gap, no duplicate.
    const evaluationNumbers = trials
      .flatMap((trial) => (trial.evaluation_number === null ? [] : [trial.evaluation_number]))
      .sort((a, b) => a - b);
    if (evaluationNumbers.some((value, index) => value !== index + 1) || evaluationNumbers.length !== finished) {
      problems.push(`evaluation numbers are not exactly 1..${finished}`);
    }
    const numbers = new Set(trials.map((trial) => trial.number));
    if (numbers.size !== trials.length) problems.push('duplicate trial numbers');
    const stillOpen = trials.filter((trial) => trial.status === 'running' || trial.status === 'pending');
    if (study.status === 'completed' && stillOpen.length > 0) {
      problems.push(`${stillOpen.length} trials still pending/running in a completed study`);
    }
    return {
      status: study.status as string,
      stopReason: study.stop_reason as string | null,
      evaluationCount: study.evaluation_count as number,
      completed: completed.length,
      failed: failed.length,
      problems,
    };
  } finally {
    await client.end();
  }
}
