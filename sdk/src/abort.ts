/**
 * Waits that end when an `AbortSignal` aborts, through a listener the SDK holds itself.
 *
 * A signal given to `fetch` (or to `new Request`) is followed by the request's own signal through
 * a weak reference in Node's fetch (undici): once garbage collection has run, aborting the caller's
 * signal, or an `AbortSignal.timeout`, may no longer reach the request, and the call waits for the
 * server for ever (measured on Node 20.20: a `runWorker` whose lease was parked, aborted after one
 * `gc()`, was still waiting 3 s later; without the `gc()` it ended in 3 ms). So every wait the SDK
 * bounds by a signal also races that signal itself (docs/reliability.md, finding 51).
 */

/** The signal's reason as an error (a bare `abort()` gives a DOMException `AbortError`). */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? 'aborted'));
}

/**
 * `work`, or a rejection with the reason of the first of `signals` to abort, whichever comes first.
 * The listeners are removed when it settles, so one signal can bound many calls (a worker's).
 */
export async function raceAbort<T>(work: Promise<T>, ...signals: (AbortSignal | null | undefined)[]): Promise<T> {
  const live = signals.filter((signal): signal is AbortSignal => signal !== null && signal !== undefined);
  const already = live.find((signal) => signal.aborted);
  if (already !== undefined) {
    work.catch(() => undefined);
    throw abortReason(already);
  }
  if (live.length === 0) return work;
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(live.find((signal) => signal.aborted) ?? live[0]));
  });
  for (const signal of live) signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    for (const signal of live) signal.removeEventListener('abort', onAbort);
    // The loser must not become an unhandled rejection.
    work.catch(() => undefined);
    aborted.catch(() => undefined);
  }
}
