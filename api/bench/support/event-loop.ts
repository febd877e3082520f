/**
 * The API's figures read from its `/metrics`. The event-loop delay is prom-client's figures of
 * perf_hooks.monitorEventLoopDelay inside the API process (10 ms resolution: an idle loop reads
 * about 10 ms), over the time since the previous scrape (prom-client resets the histogram on each).
 */
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
