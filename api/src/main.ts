import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import cluster from 'node:cluster';
import { AppModule } from './app.module';
import { runClusterPrimary } from './cluster-primary';
import { configureApp, createHttpAdapter } from './app-setup';
import { type AppConfig, ConfigError, loadConfig } from './config/app-config';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';
import { runMigrations } from './database/run-migrations';

export interface RunningServer {
  app: NestFastifyApplication;
  url: string;
  /** Drains requests in flight, closes the pool, then stops the embedded database if any. */
  close(): Promise<void>;
}

/** Starts the API (and the embedded PostgreSQL when DATABASE_URL is unset); used by main and the tests. */
export async function startServer(config: AppConfig): Promise<RunningServer> {
  let database: EmbeddedDatabase | null = null;
  let databaseUrl = config.databaseUrl;
  let migrationUrl = config.migrationDatabaseUrl ?? config.databaseUrl;
  if (databaseUrl === null) {
    database = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, {
      onGiveUp: (error) => {
        // Nothing can be served without it: exit with a clear message so a supervisor restarts us.
        process.stderr.write(
          `meshtune: embedded PostgreSQL is down and could not be restarted, exiting: ${error.message}\n`,
        );
        process.exit(70);
      },
    });
    databaseUrl = database.appUrl;
    migrationUrl = database.ownerUrl;
  }
  try {
    await runMigrations(migrationUrl ?? databaseUrl);
    const logger = new ConsoleLogger({ json: true, logLevels: logLevels(config.logLevel) });
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config, databaseUrl, database),
      createHttpAdapter(config.trustProxy, config.requestTimeoutSeconds),
      {
        logger,
        bodyParser: false,
      },
    );
    configureApp(app, config);
    await app.listen(config.port, config.host);
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    return {
      app,
      url: `http://${host}:${port}`,
      close: async () => {
        await app.close();
        await database?.stop();
      },
    };
  } catch (error) {
    await database?.stop();
    throw error;
  }
}

function logLevels(level: AppConfig['logLevel']): ('error' | 'warn' | 'log' | 'debug' | 'verbose')[] {
  switch (level) {
    case 'silent':
      return [];
    case 'error':
      return ['error'];
    case 'warn':
      return ['error', 'warn'];
    case 'info':
      return ['error', 'warn', 'log'];
    case 'debug':
      return ['error', 'warn', 'log', 'debug', 'verbose'];
  }
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`meshtune: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config.workers > 1 && cluster.isPrimary) {
    await runClusterPrimary(config);
    return;
  }
  const server = await startServer(config);
  process.stdout.write(
    `meshtune: API on ${server.url} (docs ${server.url}/docs)${config.databaseUrl === null ? `, embedded PostgreSQL in ${config.dataDir}` : ''}\n`,
  );
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      process.stderr.write(`meshtune: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    closing = true;
    process.stdout.write(`meshtune: ${signal}, draining requests and stopping\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`meshtune: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // A cluster worker is stopped by its primary (SIGTERM); a terminal's Ctrl-C reaches the primary.
  process.on('SIGINT', cluster.isWorker ? () => undefined : () => shutdown('SIGINT'));
  // A worker whose primary died (it owned the embedded database) drains and stops too.
  cluster.worker?.on('disconnect', () => {
    if (!closing) shutdown('primary gone');
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`meshtune: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
