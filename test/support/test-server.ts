import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { type AppConfig, loadConfig, NO_IN_FLIGHT_LIMITS, NO_RATE_LIMITS } from '../../api/src/config/app-config';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import { type RunningServer, startServer } from '../../api/src/main';

/**
 * A new embedded PostgreSQL cluster as `startEmbeddedPostgres` makes it in an empty folder (initdb,
 * the database, the API's role, the secrets file), made once and copied into each test server's
 * folder: initdb alone took 3–6 s of every file's start on 2 shared cores (docs/benchmarks.md,
 * "CI time"), and 84 servers start in the node suite. Kept in the temporary folder under a name
 * hashed from the compiled database code and the PostgreSQL binaries' version, so a change to how
 * a cluster is made makes a new one. Migrations still run on every start; a test that passes its
 * own `dataDir` (database, security, crash specs) still makes its cluster from nothing.
 */
async function makeClusterTemplate(): Promise<string> {
  const hash = createHash('sha256');
  const databaseCode = join(__dirname, '../../api/src/database');
  for (const name of readdirSync(databaseCode).sort()) {
    if (name.endsWith('.js')) hash.update(name).update(readFileSync(join(databaseCode, name)));
  }
  // The binaries' package.json (its version): not in the package's exports, so found by path.
  const binaries = `@embedded-postgres/${process.platform}-${process.arch}/package.json`;
  const modules = (require.resolve.paths(binaries) ?? []).find((folder) => existsSync(join(folder, binaries)));
  hash.update(modules === undefined ? 'binaries not found' : readFileSync(join(modules, binaries)));
  const template = join(tmpdir(), `meshtune-test-cluster-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(template, 'postgres', 'PG_VERSION'))) return template;
  const building = mkdtempSync(`${template}.building-`);
  const database = await startEmbeddedPostgres(building, null);
  await database.stop();
  try {
    renameSync(building, template);
  } catch {
    // Another test process made it first.
    rmSync(building, { recursive: true, force: true });
  }
  return template;
}

/** The template's folder, found or made once per test process (hashing the database code once). */
let clusterTemplate: Promise<string> | undefined;

export interface TestServer {
  url: string;
  server: RunningServer;
  adminKey: string;
  /** The data folder (embedded PostgreSQL and its credentials live under it). */
  dataDir: string;
  http: TestAgent;
  /** Stops the API and its embedded PostgreSQL, keeping the data folder. */
  stop(): Promise<void>;
  /** Starts the API again on the same data folder (same database). */
  restart(): Promise<void>;
  /** Stops and deletes the data folder. */
  close(): Promise<void>;
  get<T>(type: abstract new (...args: never[]) => T): T;
}

/**
 * The real app on a real embedded PostgreSQL in a fresh temporary folder: one per test file, so
 * files never see each other's data. Lease sweeps are driven by the tests (no timers).
 */
export async function startTestServer(overrides: Partial<AppConfig> = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'meshtune-test-'));
  const adminKey = `mt_admin_test_${randomBytes(16).toString('hex')}`;
  const config: AppConfig = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    dataDir,
    adminKey,
    logLevel: 'silent',
    leaseSweepIntervalMs: 3_600_000,
    // Specs drive hundreds of requests a second through one key; the budgets have their own spec
    // (test/api/rate-limits.e2e.spec.ts), which passes them in `overrides`.
    rateLimits: NO_RATE_LIMITS,
    inFlightLimits: NO_IN_FLIGHT_LIMITS,
    ...overrides,
  };
  if (overrides.dataDir === undefined && config.databaseUrl === null) {
    // `cp -a`: as root the cluster's files belong to the `postgres` user, and must stay so.
    clusterTemplate ??= makeClusterTemplate();
    execFileSync('cp', ['-a', `${await clusterTemplate}/.`, dataDir]);
  }
  let server = await startServer(config);
  let running = true;
  const handle: TestServer = {
    url: server.url,
    server,
    adminKey: config.adminKey ?? adminKey,
    dataDir,
    http: request(server.url),
    stop: async () => {
      if (!running) return;
      running = false;
      await server.close();
    },
    restart: async () => {
      await handle.stop();
      server = await startServer(config);
      running = true;
      handle.server = server;
      handle.url = server.url;
      handle.http = request(server.url);
    },
    close: async () => {
      await handle.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    get: <T>(type: abstract new (...args: never[]) => T): T => server.app.get(type as never) as T,
  };
  return handle;
}
