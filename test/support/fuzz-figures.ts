import assert from 'node:assert/strict';
import { recordEventLoopDelay } from '../../api/bench/support/event-loop';
import { MetricsService } from '../../api/src/metrics/metrics.service';
import type { TestServer } from './test-server';

export interface FuzzFigures {
  requests: number;
  status4xx: number;
  status5xx: number;
  /** Upper bound of the slowest request: the smallest histogram bucket that holds it, in ms. */
  slowestAtMostMs: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

/**
 * Figures of a fuzz run against the in-process app, for docs/reliability.md: requests answered
 * and by status class (the API's own request histogram), the slowest request's bucket, and the
 * event-loop delay (the app shares this process's loop, so a request that blocked it shows here).
 * `report` prints one line and fails the suite on any 5xx.
 */
export async function watchFuzzFigures(test: TestServer): Promise<{ report(label: string): Promise<FuzzFigures> }> {
  const metrics = test.get(MetricsService);
  /** The request histogram now: answers per method/route/status, and per bucket bound (all routes). */
  const snapshot = async (): Promise<{ counts: Map<string, number>; buckets: Map<number, number> }> => {
    const counts = new Map<string, number>();
    const buckets = new Map<number, number>();
    for (const value of (await metrics.httpDuration.get()).values) {
      if (value.metricName === 'meshtune_http_request_duration_seconds_count') {
        const key = `${String(value.labels.method)} ${String(value.labels.route)} ${String(value.labels.status)}`;
        counts.set(key, value.value);
      } else if (value.metricName === 'meshtune_http_request_duration_seconds_bucket') {
        const bound = Number((value.labels as Record<string, unknown>).le);
        buckets.set(bound, (buckets.get(bound) ?? 0) + value.value);
      }
    }
    return { counts, buckets };
  };
  const start = await snapshot();
  const loop = recordEventLoopDelay();
  return {
    async report(label: string): Promise<FuzzFigures> {
      const delay = loop.stop();
      const end = await snapshot();
      let requests = 0;
      let status4xx = 0;
      let status5xx = 0;
      for (const [key, count] of end.counts) {
        const added = count - (start.counts.get(key) ?? 0);
        requests += added;
        if (/ 4\d\d$/.test(key)) status4xx += added;
        if (/ 5\d\d$/.test(key)) status5xx += added;
      }
      // The slowest request of this run lies in the smallest bucket that holds all of them.
      const within = (bound: number): number => (end.buckets.get(bound) ?? 0) - (start.buckets.get(bound) ?? 0);
      const bounds = [...end.buckets.keys()].filter(Number.isFinite).sort((x, y) => x - y);
      const slowest = bounds.find((bound) => within(bound) >= requests) ?? Number.POSITIVE_INFINITY;
      const figures: FuzzFigures = {
        requests,
        status4xx,
        status5xx,
        slowestAtMostMs: slowest * 1000,
        eventLoopDelayP99Ms: delay.p99Ms,
        eventLoopDelayMaxMs: delay.maxMs,
      };
      process.stdout.write(
        `fuzz figures (${label}): ${figures.requests} requests, ${figures.status4xx} 4xx, ${figures.status5xx} 5xx, ` +
          `slowest ≤ ${figures.slowestAtMostMs} ms, event-loop delay p99 ${figures.eventLoopDelayP99Ms.toFixed(1)} ms ` +
          `(max ${figures.eventLoopDelayMaxMs.toFixed(1)} ms)\n`,
      );
      assert.equal(figures.status5xx, 0, `${label}: ${figures.status5xx} requests answered 5xx`);
      return figures;
    },
  };
}
