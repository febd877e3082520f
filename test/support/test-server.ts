import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { type AppConfig, loadConfig, NO_IN_FLIGHT_LIMITS, NO_RATE_LIMITS } from '../../api/src/config/app-config';
import { type RunningServer, startServer } from '../../api/src/main';

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
