/**
 * Event-loop delay figures, one owner for both ways the harnesses take them: scraped from a
 * separate API's `/metrics` (`scrapeApiMetrics`: prom-client's figures of
 * perf_hooks.monitorEventLoopDelay inside the API process, 10 ms resolution, so an idle loop reads
 * about 10 ms, over the time since the previous scrape, as prom-client resets the histogram on
 * each), or recorded in this process (`recordEventLoopDelay`) where the harness runs the app
 * itself (test/reliability's measure scripts, test/support/fuzz-figures.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ApiMetrics {
  eventLoop: EventLoopDelay;
  /** Study engines rebuilt from their snapshot since the API started (meshtune_engine_rebuilds_total). */
  engineRebuilds: number;
}

export async function scrapeApiMetrics(url: string): Promise<ApiMetrics> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
    return match === null ? Number.NaN : Number(match[1]);
  };
  const loopMs = (figure: string): number => read(`meshtune_process_nodejs_eventloop_lag_${figure}_seconds`) * 1000;
  return {
    eventLoop: { p50Ms: loopMs('p50'), p99Ms: loopMs('p99'), maxMs: loopMs('max') },
    engineRebuilds: read('meshtune_engine_rebuilds_total'),
  };
}

export async function scrapeEventLoopDelay(url: string): Promise<EventLoopDelay> {
  return (await scrapeApiMetrics(url)).eventLoop;
}

/** This process's event-loop delay over a phase (`recordEventLoopDelay`). */
export interface EventLoopRecorder {
  /** The figures since the recorder started or was last `reset`. */
  read(): EventLoopDelay;
  /** Starts the next phase: forgets what was recorded so far. */
  reset(): void;
  /** The figures since the start or the last `reset`, and the recording ends. */
  stop(): EventLoopDelay;
}

/**
 * Records this process's event-loop delay from now on, at the API's own resolution (10 ms, as
 * prom-client's default), so that an idle loop reads about 10 ms here as in `/metrics` and the
 * figures of both ways compare. The app shares this process's loop when a harness runs it
 * in-process: a request that blocks the loop shows here.
 */
export function recordEventLoopDelay(): EventLoopRecorder {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  // The histogram counts nanoseconds.
  const read = (): EventLoopDelay => ({
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    maxMs: histogram.max / 1e6,
  });
  return {
    read,
    reset: () => histogram.reset(),
    stop: () => {
      histogram.disable();
      return read();
    },
  };
}
