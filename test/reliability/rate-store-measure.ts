/**
 * What one budget charge costs in each rate-limit store (docs/reliability.md, finding 31), not in
 * CI: rate-limiter-flexible's RateLimiterMemory, and RateLimiterPostgres on a logged and on an
 * UNLOGGED table (what migrations/1796334000000-RateLimitBudgets.ts makes), on one embedded
 * PostgreSQL, through a pg pool of 40 connections as the API's. Per store: CHARGES charges one after
 * another (latency of one), then CHARGES with 16 at a time on one subject (a project's row: every
 * request of a project updates it) and on 16 subjects (keys). Each store twice, alternating, so
 * that the machine's load falls on all of them. `npm run build && node dist/test/reliability/rate-store-measure.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { startEmbeddedPostgres } from '../../api/src/database/embedded-postgres';

const CHARGES = Number(process.env.RATE_STORE_CHARGES ?? 3000);
const POINTS = 1e9;

async function timed(
  charges: number,
  concurrency: number,
  charge: (i: number) => Promise<unknown>,
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < charges) {
        const i = next++;
        const t = performance.now();
        await charge(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!;
  return { perSecond: charges / seconds, p50: at(0.5), p99: at(0.99) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshtune-rate-store-'));
  const database = await startEmbeddedPostgres(dataDir, null);
  const pool = new Pool({ connectionString: database.ownerUrl, max: 40 });
  try {
    await pool.query(
      'CREATE TABLE budgets_logged (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)',
    );
    await pool.query(
      'CREATE UNLOGGED TABLE budgets_unlogged (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)',
    );
    const stores: Record<string, () => RateLimiterAbstract> = {
      memory: () => new RateLimiterMemory({ points: POINTS, duration: 60 }),
      'postgres, logged table': () =>
        new RateLimiterPostgres({
          storeClient: pool,
          storeType: 'pool',
          tableName: 'budgets_logged',
          tableCreated: true,
          keyPrefix: `l${Math.random()}`,
          points: POINTS,
          duration: 60,
        }),
      'postgres, unlogged table': () =>
        new RateLimiterPostgres({
          storeClient: pool,
          storeType: 'pool',
          tableName: 'budgets_unlogged',
          tableCreated: true,
          keyPrefix: `u${Math.random()}`,
          points: POINTS,
          duration: 60,
        }),
    };
    const lines = [
      '| store | round | one at a time: charges/s | p50 ms | p99 ms | 16 at a time, one subject: charges/s | p50 ms | p99 ms | 16 at a time, 16 subjects: charges/s | p50 ms | p99 ms |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    const f = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(2));
    for (const round of [1, 2]) {
      for (const [name, make] of Object.entries(stores)) {
        const limiter = make();
        const serial = await timed(CHARGES, 1, () => limiter.consume('project:a', 1));
        const hot = await timed(CHARGES, 16, () => limiter.consume('project:b', 1));
        const spread = await timed(CHARGES, 16, (i) => limiter.consume(`key:${i % 16}`, 1));
        const line = `| ${name} | ${round} | ${[serial, hot, spread].map((r) => `${f(r.perSecond)} | ${f(r.p50)} | ${f(r.p99)}`).join(' | ')} |`;
        lines.push(line);
        process.stderr.write(`${line}\n`);
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await pool.end();
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
