/**
 * The API as a child process for benchmarks: the load generator must not share its event loop, or
 * a request that blocks the API's loop would be hidden in (or blamed on) the generator's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../../..');

export interface ApiProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Starts `dist-bench/api/src/main.js` (or `mainFile`) on a free port of 127.0.0.1 and resolves with its URL once it
 * listens. Without `databaseUrl` the API starts its own embedded PostgreSQL in `dataDir`, as a
 * user's first run does.
 */
export async function startApi(
  databaseUrl: string | null,
  dataDir: string,
  adminKey: string,
  /** Another build's main.js (e.g. main's, to measure before and after in one run); default: this build's. */
  mainFile: string = join(__dirname, '../../src/main.js'),
): Promise<ApiProcess> {
  // MESHTUNE_BENCH_API_NODE_OPTIONS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the API.
  const nodeArgs = (process.env.MESHTUNE_BENCH_API_NODE_OPTIONS ?? '').split(' ').filter((arg) => arg !== '');
  const env: NodeJS.ProcessEnv = {
    // The service bench drives one project as fast as the API answers: budgets off unless the
    // caller's environment sets them.
    MESHTUNE_RATE_LIMIT_KEY_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND: '0',
    MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT: '0',
    MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT: '0',
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    MESHTUNE_DATA_DIR: dataDir,
    MESHTUNE_ADMIN_KEY: adminKey,
    MESHTUNE_LOG_LEVEL: 'error',
  };
  if (databaseUrl === null) delete env.DATABASE_URL;
  else env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, [...nodeArgs, mainFile], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that MESHTUNE_WORKERS > 1 workers are killed with it.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`API did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /API on (http:\/\/\S+)/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`API exited with ${code}: ${stderr}`));
    });
  });
  child.stdout!.resume();
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL')
      process.stderr.write(`API exited (${code ?? signal}): ${stderr.slice(-2000)}\n`);
  });
  return { child, url };
}
