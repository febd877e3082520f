import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * The embedded cluster's two roles and their passwords.
 *
 * - The owner (`meshtune`) is the superuser initdb creates: it runs migrations and nothing else.
 * - The application role (`meshtune_app`) is what the API's pool connects as: it can read and
 *   write the tables' rows, and nothing more (no DDL, no `COPY … TO PROGRAM`, no other database).
 *
 * Both passwords are random per cluster and live in a file of the data folder that only the API's
 * OS user can read (mode 600), so another local user who reaches the server's loopback port or
 * socket has nothing to log in with.
 */
export interface ClusterCredentials {
  ownerPassword: string;
  appPassword: string;
}

export const OWNER_ROLE = 'meshtune';
export const APP_ROLE = 'meshtune_app';
export const DATABASE_NAME = 'meshtune';
/** Clusters made before per-cluster secrets had this owner password (fixed in the source). */
export const LEGACY_OWNER_PASSWORD = 'meshtune-local';

const CREDENTIALS_FILE = 'postgres-credentials.json';
/** New secrets of a legacy cluster, kept here until the server has taken them (see upgradeLegacyCluster). */
const PENDING_CREDENTIALS_FILE = 'postgres-credentials.pending.json';

function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE);
}

/** The stored credentials, or null when the data folder has none yet. Tightens a file left readable by others. */
export function readCredentials(dataDir: string): ClusterCredentials | null {
  return readCredentialsFile(credentialsPath(dataDir));
}

function readCredentialsFile(path: string): ClusterCredentials | null {
  if (!existsSync(path)) return null;
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ClusterCredentials>;
  if (typeof parsed.ownerPassword !== 'string' || typeof parsed.appPassword !== 'string') {
    throw new Error(`${path} is damaged: expected {"ownerPassword": "…", "appPassword": "…"}`);
  }
  return { ownerPassword: parsed.ownerPassword, appPassword: parsed.appPassword };
}

/** New random credentials, written with mode 600 (`wx`: never over an existing file). */
export function createCredentials(dataDir: string): ClusterCredentials {
  return writeNewCredentials(credentialsPath(dataDir));
}

function writeNewCredentials(path: string): ClusterCredentials {
  const credentials = { ownerPassword: newPassword(), appPassword: newPassword() };
  writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return credentials;
}

/**
 * The new secrets for a legacy cluster, before the server has them: written to a pending file
 * first (or read back from it when an earlier upgrade was interrupted), so that the credentials
 * file only ever names passwords the server accepts. commitCredentials makes them the real ones.
 */
export function pendingCredentials(dataDir: string): ClusterCredentials {
  const path = join(dataDir, PENDING_CREDENTIALS_FILE);
  return readCredentialsFile(path) ?? writeNewCredentials(path);
}

/** The pending secrets become the cluster's credentials file (an atomic rename). */
export function commitCredentials(dataDir: string): void {
  renameSync(join(dataDir, PENDING_CREDENTIALS_FILE), credentialsPath(dataDir));
}

/**
 * A cluster initialised before this file existed trusts the fixed legacy password with the
 * cleartext `password` method: give the owner the new random password and require SCRAM in
 * pg_hba.conf. Runs as the owner, with the legacy password, once. When an earlier attempt was cut
 * off after ALTER ROLE, the legacy password is refused (28P01) and the new one is already in
 * place: it logs in with that instead and finishes, so an interrupted upgrade never locks the
 * cluster out.
 */
export async function upgradeLegacyCluster(
  connect: (password: string) => Client,
  databaseDir: string,
  ownerPassword: string,
): Promise<void> {
  const hbaPath = join(databaseDir, 'pg_hba.conf');
  const hba = readFileSync(hbaPath, 'utf8');
  const scramOnly = hba
    .split('\n')
    .map((line) => (/^\s*(local|host)/.test(line) ? line.replace(/\b(password|md5|trust)\s*$/, 'scram-sha-256') : line))
    .join('\n');
  if (scramOnly !== hba) writeFileSync(hbaPath, scramOnly);
  let client = connect(LEGACY_OWNER_PASSWORD);
  try {
    await client.connect();
  } catch (error) {
    if ((error as { code?: string }).code !== '28P01') throw error;
    await client.end().catch(() => undefined);
    client = connect(ownerPassword);
    await client.connect();
  }
  try {
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    await client.query(`ALTER ROLE ${OWNER_ROLE} PASSWORD ${client.escapeLiteral(ownerPassword)}`);
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
}

/**
 * Creates (or brings back in line) the application role: login, no superuser, no role or
 * database creation; rows of the current and future tables of `public` (default privileges for
 * the tables the owner's migrations create), nothing else. Idempotent: run on every start.
 */
export async function ensureAppRole(owner: Client, appPassword: string): Promise<void> {
  await owner.query(`SET password_encryption = 'scram-sha-256'`);
  await owner.query(
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN CREATE ROLE ${APP_ROLE}; END IF;
     END $$`,
  );
  const statements = [
    `ALTER ROLE ${APP_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${owner.escapeLiteral(appPassword)}`,
    `REVOKE ALL ON DATABASE ${DATABASE_NAME} FROM PUBLIC`,
    `GRANT CONNECT, TEMPORARY ON DATABASE ${DATABASE_NAME} TO ${APP_ROLE}`,
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    `GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${OWNER_ROLE} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${OWNER_ROLE} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${APP_ROLE}`,
  ];
  for (const statement of statements) await owner.query(statement);
}
