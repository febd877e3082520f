import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { REFUSAL_DELAY_MS } from './request-budgets';

/** The two bounds on requests in flight, in the order they are checked. */
export type InFlightBound = 'key-in-flight' | 'project-in-flight';

const SETTING: Record<InFlightBound, string> = {
  'key-in-flight': 'MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT',
  'project-in-flight': 'MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT',
};

const WHOSE: Record<InFlightBound, string> = {
  'key-in-flight': 'this key',
  'project-in-flight': "this key's project (all its keys and runner tokens together)",
};

/** Seconds a refused request is told to wait: a slot frees as soon as one of the caller's requests ends. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

/** The `details` of a 429 RATE_LIMITED refused for requests in flight. */
export interface InFlightLimitDetails {
  budget: InFlightBound;
  /** Requests of this key (or project) the process serves at once. */
  limit: number;
  retryAfterSeconds: number;
}

/** Who a request counts against: its key, and its project unless it is an admin key (none). */
export interface InFlightCaller {
  keyId: string;
  projectId: string | null;
}

/**
 * One request's place among its key's and project's requests in flight. `release` gives it back
 * (idempotent); `reenter` takes it again after a release (a lease that parked without it), waiting
 * as `InFlightLimits.enter` does, and says whether it got it.
 */
export interface InFlightSlot {
  release(): void;
  reenter(): Promise<boolean>;
}

interface Subject {
  active: number;
  /** Requests waiting for a place: woken (all of them, each checks again) when one is released. */
  waiters: Set<() => void>;
}

/**
 * A bound on the requests of one key and of one project that this API process serves at once
 * (docs/reliability.md, finding 30). The request budgets (request-budgets.ts) bound how many
 * requests a project starts per second, not how long they last: slow legal requests (CSV
 * exports, large pages, engine reads waiting on a study's lock) could hold most of the
 * database pool and every other project waited for a connection. Here a request past the bound
 * waits up to REFUSAL_DELAY_MS for one of its own project's requests to end, then is refused with
 * 429 RATE_LIMITED and `Retry-After: 1`, before its handler runs; nothing waits longer, so
 * nothing queues without bound. The defaults (config/app-config.ts) are a fraction of the
 * database pool: one project cannot hold more than a quarter of it.
 *
 * Counted in memory per process, like the budgets: a project's bound with MESHTUNE_WORKERS = N
 * is N times this, and so is the pool it is sized from.
 */
@Injectable()
export class InFlightLimits {
  private readonly subjects = new Map<string, Subject>();
  private readonly limits: Record<InFlightBound, number>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.limits = {
      'key-in-flight': config.inFlightLimits.perKey,
      'project-in-flight': config.inFlightLimits.perProject,
    };
    for (const [budget, limit] of Object.entries(this.limits)) {
      metrics.rateLimit.set({ budget }, limit);
      metrics.rateLimited.inc({ budget }, 0);
    }
  }

  /** Requests of this key or project in flight now (0 when none): what the tests read to see that nothing leaks. */
  inFlight(subject: { keyId: string } | { projectId: string }): number {
    const name = 'keyId' in subject ? `key:${subject.keyId}` : `project:${subject.projectId}`;
    return this.subjects.get(name)?.active ?? 0;
  }

  /**
   * Takes a place for one request of `caller` among its key's and its project's, waiting up to
   * REFUSAL_DELAY_MS for one; throws 429 RATE_LIMITED when none freed in that time. Returns null
   * when both bounds are off.
   */
  async enter(caller: InFlightCaller): Promise<InFlightSlot | null> {
    const bounds = this.boundsOf(caller);
    if (bounds.length === 0) return null;
    await this.take(bounds, true);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.give(bounds);
      },
      reenter: async () => {
        if (held) return true;
        held = await this.take(bounds, false);
        return held;
      },
    };
  }

  private boundsOf(caller: InFlightCaller): Array<{ bound: InFlightBound; subject: string; limit: number }> {
    const bounds: Array<{ bound: InFlightBound; subject: string; limit: number }> = [];
    if (this.limits['key-in-flight'] > 0) {
      bounds.push({ bound: 'key-in-flight', subject: `key:${caller.keyId}`, limit: this.limits['key-in-flight'] });
    }
    if (caller.projectId !== null && this.limits['project-in-flight'] > 0) {
      bounds.push({
        bound: 'project-in-flight',
        subject: `project:${caller.projectId}`,
        limit: this.limits['project-in-flight'],
      });
    }
    return bounds;
  }

  /**
   * Takes a place in every bound at once (never one without the other, so a request waiting for
   * its project holds nothing of its key's), waiting for a release until REFUSAL_DELAY_MS has
   * passed. Refused: throws 429 when `refuse`, otherwise returns false.
   */
  private async take(
    bounds: Array<{ bound: InFlightBound; subject: string; limit: number }>,
    refuse: boolean,
  ): Promise<boolean> {
    const deadline = performance.now() + REFUSAL_DELAY_MS;
    for (;;) {
      const full = bounds.find(({ subject, limit }) => (this.subjects.get(subject)?.active ?? 0) >= limit);
      if (full === undefined) {
        for (const { subject } of bounds) this.subject(subject).active++;
        return true;
      }
      const waitMs = deadline - performance.now();
      if (waitMs <= 0) {
        this.forgetIfIdle(full.subject);
        // A parked lease that cannot take its place back answers 204, not a refusal.
        if (!refuse) return false;
        this.metrics.rateLimited.inc({ budget: full.bound });
        const details: InFlightLimitDetails = {
          budget: full.bound,
          limit: full.limit,
          retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS,
        };
        throw new DomainError(
          'RATE_LIMITED',
          `too many requests of ${WHOSE[full.bound]} in flight: at most ${full.limit} at once (${SETTING[full.bound]}); retry after ${IN_FLIGHT_RETRY_AFTER_SECONDS} s`,
          details,
          IN_FLIGHT_RETRY_AFTER_SECONDS,
        );
      }
      await this.released(this.subject(full.subject), waitMs);
    }
  }

  private give(bounds: Array<{ subject: string }>): void {
    for (const { subject } of bounds) {
      const entry = this.subjects.get(subject);
      if (entry === undefined) continue;
      entry.active--;
      const waiters = [...entry.waiters];
      entry.waiters.clear();
      for (const wake of waiters) wake();
      this.forgetIfIdle(subject);
    }
  }

  /** Resolves at the subject's next release, or after `timeoutMs`. */
  private released(entry: Subject, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        entry.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      entry.waiters.add(wake);
    });
  }

  private subject(name: string): Subject {
    let entry = this.subjects.get(name);
    if (entry === undefined) {
      entry = { active: 0, waiters: new Set() };
      this.subjects.set(name, entry);
    }
    return entry;
  }

  /** Keys and projects with nothing in flight take no memory (a key per request must not grow the map). */
  private forgetIfIdle(name: string): void {
    const entry = this.subjects.get(name);
    if (entry !== undefined && entry.active === 0 && entry.waiters.size === 0) this.subjects.delete(name);
  }
}
