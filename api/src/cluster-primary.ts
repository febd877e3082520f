import cluster, { type Worker } from 'node:cluster';
import type { AppConfig } from './config/app-config';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';

/** Worker restarts allowed per minute before the primary gives up (a worker that cannot start). */
const MAX_RESTARTS_PER_MINUTE = 5;

/**
 * MESHTUNE_WORKERS > 1: this process owns the embedded PostgreSQL (when DATABASE_URL is unset)
 * and runs that many API worker processes sharing the port. The first worker starts alone, so
 * migrations and the first admin key happen once; the others follow. The service is built for
 * several processes (row locks, SKIP LOCKED, engines that catch up from engine_events), so the
 * workers need nothing from each other. A worker that dies is replaced; SIGTERM/SIGINT drains
 * every worker, then stops the database.
 */
export async function runClusterPrimary(config: AppConfig): Promise<void> {
  let database: EmbeddedDatabase | null = null;
  const env: NodeJS.ProcessEnv = { ...process.env, MESHTUNE_WORKERS: '1' };
  if (config.databaseUrl === null) {
    database = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, {
      onGiveUp: (error) => {
        process.stderr.write(`meshtune: embedded PostgreSQL is down and could not be restarted: ${error.message}\n`);
        void stopAll(70);
      },
    });
    // The workers' pools use the application role; the first worker migrates as the owner.
    env.DATABASE_URL = database.appUrl;
    env.MESHTUNE_MIGRATION_DATABASE_URL = database.ownerUrl;
    process.stdout.write(
      `meshtune: embedded PostgreSQL in ${config.dataDir}, shared by ${config.workers} API workers\n`,
    );
  }
  let closing = false;
  const restarts: number[] = [];
  const fork = (): Worker => cluster.fork(env);

  const stopAll = async (code: number): Promise<never> => {
    closing = true;
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolveExit) => {
            if (worker.isDead()) return resolveExit();
            worker.once('exit', () => resolveExit());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    await database?.stop();
    process.exit(code);
  };

  const first = fork();
  const started = await new Promise<boolean>((resolveStart) => {
    first.once('listening', () => resolveStart(true));
    first.once('exit', () => resolveStart(false));
  });
  if (!started) {
    process.stderr.write('meshtune: the first API worker failed to start\n');
    await stopAll(1);
  }
  const others = Array.from({ length: config.workers - 1 }, () => fork());
  void Promise.all(
    others.map((worker) => new Promise((resolveListening) => worker.once('listening', resolveListening))),
  ).then(() => process.stdout.write(`meshtune: ${config.workers} API workers listening\n`));

  cluster.on('exit', (worker, code, signal) => {
    if (closing) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0] < now - 60_000) restarts.shift();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
      process.stderr.write('meshtune: API workers keep dying; stopping\n');
      void stopAll(1);
      return;
    }
    process.stderr.write(`meshtune: API worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    fork();
  });
  const shutdown = (signal: string): void => {
    if (closing) return;
    process.stdout.write(`meshtune: ${signal}, draining ${config.workers} API workers and stopping\n`);
    void stopAll(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
