/**
 * The API's event-loop delay, read from its `/metrics`: prom-client's figures of
 * perf_hooks.monitorEventLoopDelay inside the API process (10 ms resolution: an idle loop reads
 * about 10 ms), over the time since the previous scrape (prom-client resets the histogram on each).
 */
export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function scrapeEventLoopDelay(url: string): Promise<EventLoopDelay> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number => {
    const match = new RegExp(`^meshtune_process_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text);
    return match === null ? Number.NaN : Number(match[1]) * 1000;
  };
  return { p50Ms: read('p50'), p99Ms: read('p99'), maxMs: read('max') };
}
