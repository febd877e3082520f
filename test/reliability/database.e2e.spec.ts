import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { credentialsPath, LEGACY_OWNER_PASSWORD, OWNER_ROLE } from '../../api/src/database/cluster-credentials';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';
import { auth, createKey, createStudy, expectStatus, quadraticStudy } from '../support/api-client';
import { startTestServer } from '../support/test-server';
import { freePort, sleep } from './cluster';

/** The embedded server's TCP port and postmaster pid, read from its lock file. */
function postmaster(dataDir: string): { pid: number; port: number } {
  const [pid, , , port] = readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n');
  return { pid: Number(pid), port: Number(port) };
}

/** A login over loopback TCP, as any local OS user could try; resolves to the error code or 'ok'. */
async function tryLogin(port: number, user: string, password: string): Promise<string> {
  const client = new Client({ host: '127.0.0.1', port, user, password, database: 'meshtune' });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (error) {
    return String((error as { code?: string }).code ?? error);
  }
}

async function sqlState(dataSource: DataSource, sql: string): Promise<string> {
  try {
    await dataSource.query(sql);
    return 'ok';
  } catch (error) {
    return String((error as { driverError?: { code?: string } }).driverError?.code ?? error);
  }
}

describe('embedded PostgreSQL: nobody but the API logs in, and the API is not a superuser', () => {
  it('keeps random per-cluster secrets in a mode-600 file and refuses the old fixed password', async () => {
    const test = await startTestServer();
    try {
      const { port } = postmaster(test.dataDir);
      const file = credentialsPath(test.dataDir);
      assert.equal(statSync(file).mode & 0o777, 0o600, 'the credentials file is readable by its owner only');
      const credentials = JSON.parse(readFileSync(file, 'utf8')) as { ownerPassword: string; appPassword: string };
      assert.ok(credentials.ownerPassword.length >= 40 && credentials.appPassword.length >= 40);
      assert.equal(await tryLogin(port, OWNER_ROLE, LEGACY_OWNER_PASSWORD), '28P01', 'the fixed password is refused');
      assert.equal(await tryLogin(port, 'meshtune_app', 'meshtune-local'), '28P01');
      assert.equal(await tryLogin(port, 'postgres', 'postgres'), '28P01');
      assert.equal(await tryLogin(port, OWNER_ROLE, credentials.ownerPassword), 'ok');
    } finally {
      await test.close();
    }
  });

  it("the API's own connection cannot run programs, change the schema or grant itself rights", async () => {
    const test = await startTestServer();
    try {
      const dataSource = test.get(DataSource);
      const [role] = (await dataSource.query(
        'SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user',
      )) as Record<string, unknown>[];
      assert.deepEqual(role, {
        rolname: 'meshtune_app',
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
      });
      // 42501 insufficient_privilege for each: what a SQL injection could otherwise do.
      assert.equal(await sqlState(dataSource, `COPY (SELECT 1) TO PROGRAM 'true'`), '42501');
      assert.equal(await sqlState(dataSource, 'CREATE TABLE intruder (id int)'), '42501');
      assert.equal(await sqlState(dataSource, 'ALTER TABLE api_keys ADD COLUMN intruder int'), '42501');
      assert.equal(await sqlState(dataSource, 'DROP TABLE trials'), '42501');
      assert.equal(await sqlState(dataSource, `ALTER ROLE meshtune_app SUPERUSER`), '42501');
      assert.equal(await sqlState(dataSource, `SELECT pg_read_file('postgresql.conf')`), '42501');
      // …while the rows it serves are its to read and write.
      const userKey = await createKey(test, 'user');
      const study = await createStudy(test, userKey, quadraticStudy());
      assert.equal(typeof study.id, 'string');
    } finally {
      await test.close();
    }
  });

  it('a cluster made with the old fixed password gets new secrets on its next start, data kept', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-legacy-'));
    try {
      let test = await startTestServer({ dataDir });
      const userKey = await createKey(test, 'user');
      const study = await createStudy(test, userKey, quadraticStudy());
      await test.stop();
      // Turn it into a cluster as the previous release left it: fixed owner password, cleartext
      // `password` method, no credentials file.
      const database = await startEmbeddedPostgres(dataDir, null);
      const owner = new Client({ connectionString: database.ownerUrl });
      await owner.connect();
      await owner.query(`ALTER ROLE ${OWNER_ROLE} PASSWORD '${LEGACY_OWNER_PASSWORD}'`);
      await owner.end();
      await database.stop();
      const hbaPath = join(dataDir, 'postgres', 'pg_hba.conf');
      writeFileSync(hbaPath, readFileSync(hbaPath, 'utf8').replace(/scram-sha-256\s*$/gm, 'password'));
      unlinkSync(credentialsPath(dataDir));

      test = await startTestServer({ dataDir, adminKey: test.adminKey });
      try {
        const { port } = postmaster(dataDir);
        assert.equal(await tryLogin(port, OWNER_ROLE, LEGACY_OWNER_PASSWORD), '28P01');
        assert.equal(statSync(credentialsPath(dataDir)).mode & 0o777, 0o600);
        assert.match(readFileSync(hbaPath, 'utf8'), /^host\s.*scram-sha-256\s*$/m);
        assert.doesNotMatch(readFileSync(hbaPath, 'utf8'), /^host\s.*\spassword\s*$/m);
        const again = expectStatus(await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)), 200);
        assert.equal(again.body.id, study.id);
      } finally {
        await test.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('an interrupted upgrade of a legacy cluster', () => {
  it('the server already has the new owner password but no credentials file was written: the next start finishes the upgrade', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-legacy-cut-'));
    try {
      let test = await startTestServer({ dataDir });
      const userKey = await createKey(test, 'user');
      const study = await createStudy(test, userKey, quadraticStudy());
      await test.stop();
      // The state a crash right after ALTER ROLE leaves: the owner has the new (pending) password,
      // pg_hba.conf still says `password`, and only the pending file names the new secrets.
      const stored = JSON.parse(readFileSync(credentialsPath(dataDir), 'utf8')) as { ownerPassword: string };
      const pendingPath = join(dataDir, 'postgres-credentials.pending.json');
      writeFileSync(pendingPath, readFileSync(credentialsPath(dataDir)), { mode: 0o600 });
      unlinkSync(credentialsPath(dataDir));
      const hbaPath = join(dataDir, 'postgres', 'pg_hba.conf');
      writeFileSync(hbaPath, readFileSync(hbaPath, 'utf8').replace(/scram-sha-256\s*$/gm, 'password'));

      test = await startTestServer({ dataDir, adminKey: test.adminKey });
      try {
        const { port } = postmaster(dataDir);
        assert.equal(await tryLogin(port, OWNER_ROLE, LEGACY_OWNER_PASSWORD), '28P01');
        const committed = JSON.parse(readFileSync(credentialsPath(dataDir), 'utf8')) as { ownerPassword: string };
        assert.equal(committed.ownerPassword, stored.ownerPassword);
        assert.equal(existsSync(pendingPath), false);
        assert.match(readFileSync(hbaPath, 'utf8'), /^host\s.*scram-sha-256\s*$/m);
        const again = expectStatus(await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)), 200);
        assert.equal(again.body.id, study.id);
      } finally {
        await test.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('when PostgreSQL dies', () => {
  it('embedded: killed with SIGKILL, it is restarted; meanwhile 503 with Retry-After, never a 500', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-pgkill-'));
    const test = await startTestServer({ dataDir });
    try {
      const userKey = await createKey(test, 'user');
      const study = await createStudy(test, userKey, quadraticStudy());
      const before = postmaster(dataDir);
      process.kill(before.pid, 'SIGKILL');
      const seen = new Map<number, number>();
      let healthDuringOutage = 0;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const response = await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey));
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        if (response.status === 503) {
          assert.equal(response.headers['retry-after'], '5');
          assert.equal(response.body.code, 'SERVICE_UNAVAILABLE');
          const health = await test.http.get('/health');
          if (health.status === 503) healthDuringOutage++;
        } else if (response.status === 200) {
          if (postmaster(dataDir).pid !== before.pid) break;
        } else {
          assert.fail(`HTTP ${response.status} while the database was down: ${JSON.stringify(response.body)}`);
        }
        assert.ok(Date.now() < deadline, `not back within 60 s: ${JSON.stringify([...seen])}`);
        await sleep(50);
      }
      assert.ok((seen.get(503) ?? 0) > 0, 'the outage was seen as 503');
      assert.ok(healthDuringOutage > 0, 'liveness said 503 while the embedded server was restarting');
      expectStatus(await test.http.get('/health'), 200);
      expectStatus(await test.http.get('/health/ready'), 200);
      const after = expectStatus(await test.http.get(`/v1/studies/${String(study.id)}`).set(...auth(userKey)), 200);
      assert.equal(after.body.name, 'quadratic');
    } finally {
      await test.close();
    }
  });

  it('external: while the database is down every route answers 503 with Retry-After, then recovers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-pgdown-'));
    const port = await freePort();
    let database = await startEmbeddedPostgres(dataDir, port);
    const test = await startTestServer({
      databaseUrl: database.appUrl,
      migrationDatabaseUrl: database.ownerUrl,
      dataDir: join(dataDir, 'api'),
    });
    try {
      const userKey = await createKey(test, 'user');
      await database.stop();
      for (const path of ['/v1/studies', '/v1/runners', '/health/ready']) {
        const response = await test.http.get(path).set(...auth(userKey));
        assert.equal(response.status, 503, `${path}: ${JSON.stringify(response.body)}`);
        assert.equal(response.headers['retry-after'], '5');
      }
      const created = await test.http
        .post('/v1/studies')
        .set(...auth(userKey))
        .send(quadraticStudy());
      assert.equal(created.status, 503);
      // Liveness is this process's: an external database's outage is readiness's to report.
      expectStatus(await test.http.get('/health'), 200);
      database = await startEmbeddedPostgres(dataDir, port);
      expectStatus(await test.http.get('/v1/studies').set(...auth(userKey)), 200);
    } finally {
      await test.close();
      await database.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
