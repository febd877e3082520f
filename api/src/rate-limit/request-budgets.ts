import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';

/** The three budgets a request is charged against, in the order they are checked. */
export type BudgetName = 'key' | 'project' | 'expensive';

/** Where each budget is configured (named in the 429's message, so an operator knows what to raise). */
const SETTING: Record<BudgetName, string> = {
  key: 'MESHTUNE_RATE_LIMIT_KEY_PER_SECOND',
  project: 'MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND',
  expensive: 'MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND',
};

const WHOSE: Record<BudgetName, string> = {
  key: 'this key',
  project: "this key's project (all its keys and runner tokens together)",
  expensive: "this key's project for engine reads, study scans and exports",
};

/** The table the `postgres` store counts in (migrations/1796334000000-RateLimitBudgets.ts). */
export const RATE_LIMIT_TABLE = 'rate_limit_budgets';

/** How long a refused request waits before its 429 is sent (docs/reliability.md, finding 23). */
export const REFUSAL_DELAY_MS = 1000;

/** The `details` of a 429 RATE_LIMITED. */
export interface RateLimitDetails {
  budget: BudgetName;
  /** Requests (cost points for `expensive`) allowed per window. */
  limit: number;
  windowSeconds: number;
  retryAfterSeconds: number;
}

/**
 * Per-key and per-project request budgets (docs/reliability.md, finding 23): a fixed window of
 * `rateLimits.windowSeconds`, in which a key may make `keyPerSecond × window` requests, all keys
 * and runner tokens of one project together `projectPerSecond × window`, and the project's
 * routes marked with @RequestCost (engine reads, exports) `expensivePerSecond × window` cost
 * points. A request over any of them is refused with 429 RATE_LIMITED and `Retry-After` (the
 * window's end) before its handler runs, so a refused request costs an authentication (cached), a
 * map lookup and a timer: its answer is held up to REFUSAL_DELAY_MS. The key budget is checked first, so one key past its budget takes nothing more
 * from its project's. Admin keys act in no project: they have the key budget, and their
 * expensive reads are counted per key.
 *
 * Counted in memory (rate-limiter-flexible's RateLimiterMemory) by default: each API process
 * counts on its own, so with MESHTUNE_WORKERS = N, or N replicas, a key spread over them can make
 * up to N times the budget (README.md, "Rate limits"). With MESHTUNE_RATE_LIMIT_STORE=postgres
 * they are counted in the database (RateLimiterPostgres: one upsert per budget charged, on the
 * API's pool), shared by every process; a subject past its budget is then refused from memory
 * until the window ends (no more upserts for a flood), and a failed upsert falls back to this
 * process's own memory count (docs/reliability.md, finding 31).
 */
@Injectable()
export class RequestBudgets {
  private readonly limiters: Partial<Record<BudgetName, RateLimiterAbstract>> = {};
  readonly windowSeconds: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
    @InjectDataSource() dataSource: DataSource,
  ) {
    const { windowSeconds, keyPerSecond, projectPerSecond, expensivePerSecond } = config.rateLimits;
    this.windowSeconds = windowSeconds;
    const perSecond: Record<BudgetName, number> = {
      key: keyPerSecond,
      project: projectPerSecond,
      expensive: expensivePerSecond,
    };
    for (const budget of Object.keys(perSecond) as BudgetName[]) {
      const points = perSecond[budget] * windowSeconds;
      metrics.rateLimit.set({ budget }, points);
      metrics.rateLimited.inc({ budget }, 0);
      // 0 turns a budget off.
      if (points === 0) continue;
      const memory = new RateLimiterMemory({ points, duration: windowSeconds });
      this.limiters[budget] =
        config.rateLimitStore === 'memory'
          ? memory
          : new RateLimiterPostgres({
              storeClient: dataSource,
              storeType: 'typeorm',
              tableName: RATE_LIMIT_TABLE,
              // Made by a migration: the application role may not create tables.
              tableCreated: true,
              keyPrefix: budget,
              points,
              duration: windowSeconds,
              // Spent: refused from memory until the window ends, with no upsert per refusal.
              inMemoryBlockOnConsumed: points,
              insuranceLimiter: memory,
            });
    }
    metrics.rateLimitWindow.set(windowSeconds);
  }

  /** Charges one request (and `cost` expensive-read points); throws 429 RATE_LIMITED when a budget is spent. */
  async charge(caller: { keyId: string; projectId: string | null }, cost: number): Promise<void> {
    await this.take('key', `key:${caller.keyId}`, 1);
    if (caller.projectId !== null) await this.take('project', `project:${caller.projectId}`, 1);
    if (cost > 0) {
      await this.take(
        'expensive',
        caller.projectId !== null ? `project:${caller.projectId}` : `key:${caller.keyId}`,
        cost,
      );
    }
  }

  private async take(budget: BudgetName, subject: string, points: number): Promise<void> {
    const limiter = this.limiters[budget];
    if (limiter === undefined) return;
    try {
      await limiter.consume(subject, points);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      this.metrics.rateLimited.inc({ budget });
      // The refusal itself is held (up to REFUSAL_DELAY_MS, never past the window's end): a client
      // that ignores Retry-After and asks again as soon as it is answered would otherwise loop
      // faster on cheap 429s than it did on real answers, and the loop's cost falls on everyone.
      const heldMs = Math.min(REFUSAL_DELAY_MS, refusal.msBeforeNext);
      await new Promise((resolve) => setTimeout(resolve, heldMs));
      const retryAfterSeconds = Math.max(1, Math.ceil((refusal.msBeforeNext - heldMs) / 1000));
      const details: RateLimitDetails = {
        budget,
        limit: limiter.points,
        windowSeconds: this.windowSeconds,
        retryAfterSeconds,
      };
      throw new DomainError(
        'RATE_LIMITED',
        `rate limit of ${WHOSE[budget]} reached: ${limiter.points} ${budget === 'expensive' ? 'cost points' : 'requests'} per ${this.windowSeconds} s (${SETTING[budget]}); retry after ${retryAfterSeconds} s`,
        details,
        retryAfterSeconds,
      );
    }
  }
}
