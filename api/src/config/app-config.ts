import { resolve } from 'node:path';
import { DATABASE_POOL_SIZE } from '../database/pool-size';

/** Typed configuration, read once from the environment at start-up. */
export interface AppConfig {
  port: number;
  host: string;
  /** PostgreSQL connection string; null = start the embedded server. */
  databaseUrl: string | null;
  /** Who runs migrations when DATABASE_URL is a role without DDL rights (default: DATABASE_URL). */
  migrationDatabaseUrl: string | null;
  /** Folder for the embedded PostgreSQL cluster and other local state. */
  dataDir: string;
  /** Port of the embedded PostgreSQL server; null = pick a free one. */
  embeddedPostgresPort: number | null;
  /**
   * Bootstrap admin key (plain text, at least 16 characters, 8 of them distinct); null = generate
   * one on first start. Stored with a salted scrypt hash, listed by a fingerprint only.
   */
  adminKey: string | null;
  /**
   * Bootstrap runner-scope key (plain text) for deployments that hand runners a key before the API
   * runs; null = none. Stored and listed like the chosen admin key (salted scrypt, fingerprint).
   */
  runnerKey: string | null;
  /** Default lease length for studies that do not set one. */
  defaultLeaseSeconds: number;
  /** How often expired leases are swept back to pending. */
  leaseSweepIntervalMs: number;
  /** Seconds a runner is told to wait (Retry-After) when no trial is available. */
  leaseRetryAfterSeconds: number;
  /** How long a lease waits for results in flight when the engine has nothing to suggest until they arrive. */
  leaseWaitMs: number;
  /** Origins allowed by CORS; empty = CORS closed. */
  corsOrigins: string[];
  /** Runner failures in a row (within `quarantineWindowSeconds`) that quarantine a runner; 0 = never. */
  quarantineAfterFailures: number;
  /**
   * Failed evaluations in a row (within the window) that quarantine a runner when other runners
   * completed trials of the same studies meanwhile (the failures are this machine's); 0 = never.
   */
  quarantineAfterEvaluationFailures: number;
  /** Failures further apart than this from the streak's first one start a new streak. */
  quarantineWindowSeconds: number;
  /**
   * How long a runner's decline of a study keeps the study from it (runners/runner-study-decline.entity.ts),
   * counted by the database's clock: long enough that a runner which cannot run a study does not
   * lease it again and again, short enough that a study whose files appear on the runner later is
   * tried again without anyone clearing anything.
   */
  runnerDeclineExpiresAfterMs: number;
  /** Failed authentications one client address may make per minute before getting 429s. */
  authFailuresPerMinute: number;
  /**
   * Seconds a request (its head and its whole body) may take to arrive; past it the connection
   * is closed, 408 when nothing was answered yet (app-setup.ts, `createHttpAdapter`;
   * docs/reliability.md, finding 29).
   */
  requestTimeoutSeconds: number;
  /**
   * Request budgets per API process (api/src/rate-limit/request-budgets.ts; README.md, "Rate
   * limits"): requests per second of one key and of one project's keys together, and cost points
   * per second of a project's expensive reads, each counted over fixed windows of `windowSeconds`.
   * 0 turns a budget off.
   */
  rateLimits: RateLimits;
  /**
   * Requests of one key and of one project an API process serves at once
   * (api/src/rate-limit/in-flight-limits.ts; README.md, "Rate limits"); 0 turns a bound off.
   */
  inFlightLimits: InFlightLimits;
  /**
   * Where the request budgets are counted: `memory` (each API process on its own, the default) or
   * `postgres` (one row per key, project and window in the service's database, shared by every
   * process and replica; one upsert per budget charged: docs/reliability.md, finding 31).
   */
  rateLimitStore: 'memory' | 'postgres';
  /** How long an API process trusts a key it has checked; a key revoked elsewhere works that much longer there. 0 = check every request. */
  authCacheSeconds: number;
  /**
   * Which proxies to believe about the client address (X-Forwarded-For), for the failed-auth
   * limiter and the logs: false (the peer address, the default), true (any), or addresses /
   * CIDR ranges (e.g. `127.0.0.1,10.0.0.0/8`). Fastify's `trustProxy`.
   */
  trustProxy: boolean | string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** API processes sharing the port (node:cluster); 1 = this process serves alone. */
  workers: number;
  /**
   * Threads per API process that run the study engines (engine-host.worker.ts). 1 (the default)
   * keeps every study's live engine in one place; more run studies in parallel, and a call that
   * lands on a thread without the current engine rebuilds it there (docs/architecture.md).
   */
  engineThreads: number;
}

export interface RateLimits {
  windowSeconds: number;
  keyPerSecond: number;
  projectPerSecond: number;
  expensivePerSecond: number;
}

export interface InFlightLimits {
  perKey: number;
  perProject: number;
}

/**
 * A project may hold a quarter of the database pool, a key an eighth: three projects at their
 * bound at once still leave a quarter of the connections to everyone else.
 */
export const DEFAULT_IN_FLIGHT_LIMITS: InFlightLimits = {
  perKey: DATABASE_POOL_SIZE / 8,
  perProject: DATABASE_POOL_SIZE / 4,
};

/** Both bounds off: for harnesses that drive many requests of one project at once. */
export const NO_IN_FLIGHT_LIMITS: InFlightLimits = { perKey: 0, perProject: 0 };

/** Every budget off: for harnesses that drive thousands of trials a second through one project. */
export const NO_RATE_LIMITS: RateLimits = {
  windowSeconds: 10,
  keyPerSecond: 0,
  projectPerSecond: 0,
  expensivePerSecond: 0,
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function postgresUrl(env: NodeJS.ProcessEnv, name: string): string | null {
  const url = env[name]?.trim() || null;
  if (url === null) return null;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ConfigError(`${name} is not a valid URL (expected postgres://user:password@host:port/database)`);
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must use postgres:// or postgresql://, got "${protocol}"`);
  }
  return url;
}

function trustProxy(raw: string | undefined): AppConfig['trustProxy'] {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  const addresses = value.split(',').map((address) => address.trim());
  for (const address of addresses) {
    if (!/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(address)) {
      throw new ConfigError(
        `MESHTUNE_TRUST_PROXY must be true, false, or IP addresses / CIDR ranges separated by commas; got "${address}"`,
      );
    }
  }
  return addresses;
}

function inFlightLimits(env: NodeJS.ProcessEnv): InFlightLimits {
  const limits: InFlightLimits = {
    perKey: integer(env, 'MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT', DEFAULT_IN_FLIGHT_LIMITS.perKey, 0, 100_000),
    perProject: integer(env, 'MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT', DEFAULT_IN_FLIGHT_LIMITS.perProject, 0, 100_000),
  };
  // As with the budgets: a project bound below one key's would make the key's a dead letter.
  if (limits.perProject > 0 && limits.perKey > 0 && limits.perProject < limits.perKey) {
    throw new ConfigError(
      `MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT (${limits.perProject}) must be at least MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT (${limits.perKey}): a project's keys share its bound`,
    );
  }
  return limits;
}

function rateLimitStore(raw: string | undefined): AppConfig['rateLimitStore'] {
  const value = raw?.trim() || 'memory';
  if (value !== 'memory' && value !== 'postgres') {
    throw new ConfigError(`MESHTUNE_RATE_LIMIT_STORE must be memory or postgres, got "${value}"`);
  }
  return value;
}

function rateLimits(env: NodeJS.ProcessEnv): RateLimits {
  const limits: RateLimits = {
    windowSeconds: integer(env, 'MESHTUNE_RATE_LIMIT_WINDOW_SECONDS', 10, 1, 3600),
    keyPerSecond: integer(env, 'MESHTUNE_RATE_LIMIT_KEY_PER_SECOND', 20, 0, 1_000_000),
    projectPerSecond: integer(env, 'MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND', 50, 0, 1_000_000),
    expensivePerSecond: integer(env, 'MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND', 10, 0, 1_000_000),
  };
  // A project budget below one key's would make the key budget a dead letter: a mistake, not a policy.
  if (limits.projectPerSecond > 0 && limits.keyPerSecond > 0 && limits.projectPerSecond < limits.keyPerSecond) {
    throw new ConfigError(
      `MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND (${limits.projectPerSecond}) must be at least MESHTUNE_RATE_LIMIT_KEY_PER_SECOND (${limits.keyPerSecond}): a project's keys share its budget`,
    );
  }
  return limits;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const databaseUrl = postgresUrl(env, 'DATABASE_URL');
  const migrationDatabaseUrl = postgresUrl(env, 'MESHTUNE_MIGRATION_DATABASE_URL');
  if (migrationDatabaseUrl !== null && databaseUrl === null) {
    throw new ConfigError(
      'MESHTUNE_MIGRATION_DATABASE_URL needs DATABASE_URL (the embedded database manages its own roles)',
    );
  }
  const adminKey = env.MESHTUNE_ADMIN_KEY?.trim() || null;
  if (adminKey !== null && adminKey.length < 16) {
    throw new ConfigError('MESHTUNE_ADMIN_KEY must be at least 16 characters long');
  }
  if (adminKey !== null && new Set(adminKey).size < 8) {
    throw new ConfigError(
      'MESHTUNE_ADMIN_KEY is too easy to guess (fewer than 8 distinct characters); use a random one, e.g. `openssl rand -base64 32`',
    );
  }
  const runnerKey = env.MESHTUNE_RUNNER_KEY?.trim() || null;
  if (runnerKey !== null && (runnerKey.length < 16 || new Set(runnerKey).size < 8)) {
    throw new ConfigError(
      'MESHTUNE_RUNNER_KEY must be at least 16 characters long with 8 distinct ones; use a random one, e.g. `openssl rand -base64 32`',
    );
  }
  if (runnerKey !== null && runnerKey === adminKey) {
    throw new ConfigError('MESHTUNE_RUNNER_KEY must differ from MESHTUNE_ADMIN_KEY');
  }
  const logLevel = (env.MESHTUNE_LOG_LEVEL ?? 'info') as AppConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new ConfigError(`MESHTUNE_LOG_LEVEL must be one of debug, info, warn, error, silent, got "${logLevel}"`);
  }
  const pgPort = integer(env, 'MESHTUNE_PG_PORT', 0, 0, 65535);
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl,
    migrationDatabaseUrl,
    dataDir: resolve(env.MESHTUNE_DATA_DIR?.trim() || '.meshtune'),
    embeddedPostgresPort: pgPort === 0 ? null : pgPort,
    adminKey,
    runnerKey,
    defaultLeaseSeconds: integer(env, 'MESHTUNE_LEASE_SECONDS', 300, 5, 86_400),
    leaseSweepIntervalMs: integer(env, 'MESHTUNE_LEASE_SWEEP_MS', 1000, 50, 3_600_000),
    leaseRetryAfterSeconds: integer(env, 'MESHTUNE_RETRY_AFTER_SECONDS', 5, 1, 3600),
    leaseWaitMs: integer(env, 'MESHTUNE_LEASE_WAIT_MS', 5000, 0, 25_000),
    corsOrigins: (env.MESHTUNE_CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin.length > 0),
    quarantineAfterFailures: integer(env, 'MESHTUNE_QUARANTINE_AFTER_FAILURES', 3, 0, 1000),
    quarantineAfterEvaluationFailures: integer(env, 'MESHTUNE_QUARANTINE_AFTER_EVALUATION_FAILURES', 10, 0, 1000),
    quarantineWindowSeconds: integer(env, 'MESHTUNE_QUARANTINE_WINDOW_SECONDS', 600, 1, 7 * 86_400),
    // At most 7 days: the SQL takes it as an int of milliseconds (runner-store.ts).
    runnerDeclineExpiresAfterMs: integer(env, 'MESHTUNE_RUNNER_DECLINE_MS', 3_600_000, 1000, 7 * 86_400_000),
    authFailuresPerMinute: integer(env, 'MESHTUNE_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    requestTimeoutSeconds: integer(env, 'MESHTUNE_REQUEST_TIMEOUT_SECONDS', 60, 1, 86_400),
    rateLimits: rateLimits(env),
    inFlightLimits: inFlightLimits(env),
    rateLimitStore: rateLimitStore(env.MESHTUNE_RATE_LIMIT_STORE),
    authCacheSeconds: integer(env, 'MESHTUNE_AUTH_CACHE_SECONDS', 5, 0, 3600),
    trustProxy: trustProxy(env.MESHTUNE_TRUST_PROXY),
    logLevel,
    workers: integer(env, 'MESHTUNE_WORKERS', 1, 1, 64),
    engineThreads: integer(env, 'MESHTUNE_ENGINE_THREADS', 1, 1, 64),
  };
}
