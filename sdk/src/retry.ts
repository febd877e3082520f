import { ConnectionError, ConnectionTimeoutError } from './errors.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 disables retries). */
  maxRetries?: number;
  /** First backoff delay before jitter (default 500 ms); doubles with each retry. */
  initialDelayMs?: number;
  /** Cap on one backoff delay (default 8 s). */
  maxDelayMs?: number;
  /** Cap on a server's `Retry-After` (default 60 s): longer waits give up instead. */
  maxRetryAfterMs?: number;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/**
 * POSTs that are safe to repeat: the runner protocol's reports are idempotent (same payload →
 * same answer), heartbeats only extend a lease, and a lease whose answer was lost comes back to
 * the queue when it expires, so no result is lost or counted twice.
 */
const IDEMPOTENT_POSTS = [
  /\/v1\/runners\/[^/]+\/(lease|heartbeat)$/,
  /\/v1\/trials\/[^/]+\/(heartbeat|complete|fail|release)$/,
];

export function isIdempotent(request: Request): boolean {
  if (IDEMPOTENT_METHODS.has(request.method)) return true;
  if (request.method !== 'POST') return false;
  const path = new URL(request.url).pathname;
  return IDEMPOTENT_POSTS.some((pattern) => pattern.test(path));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Exponential backoff with full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^n)]. */
export function backoffDelay(retry: number, options: Required<RetryOptions>, random = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** retry);
  return random() * ceiling;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function withRetryDefaults(options: RetryOptions = {}): Required<RetryOptions> {
  return {
    maxRetries: options.maxRetries ?? 3,
    initialDelayMs: options.initialDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 8_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  };
}

type Fetch = (request: Request) => Promise<Response>;

/**
 * Wraps `fetch` with a per-attempt timeout and, for idempotent calls, retries on network errors,
 * timeouts and 408/429/5xx answers. Any call, idempotent or not, is retried on 429: the API
 * refuses a request over a rate limit (RATE_LIMITED) or from an address with too many failed
 * authentications (TOO_MANY_REQUESTS) before its handler runs, so nothing of it was written. A
 * `Retry-After` header sets the wait; otherwise backoff with jitter. The last answer (error
 * status included) or error is what the caller sees.
 */
export function retryingFetch(fetchImpl: Fetch, retry: RetryOptions, timeoutMs: number): Fetch {
  const options = withRetryDefaults(retry);
  return async (request: Request): Promise<Response> => {
    const idempotent = isIdempotent(request);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= options.maxRetries;
      let response: Response;
      try {
        response = await fetchWithTimeout(fetchImpl, last ? request : request.clone(), timeoutMs);
      } catch (error) {
        if (request.signal.aborted) throw error;
        const wrapped =
          error instanceof ConnectionError
            ? error
            : new ConnectionError(`request to ${request.method} ${request.url} failed: ${String(error)}`, {
                cause: error,
              });
        if (last || !idempotent) throw wrapped;
        await sleep(backoffDelay(attempt, options), request.signal);
        continue;
      }
      const retryable = RETRY_STATUSES.has(response.status) && (idempotent || response.status === 429);
      if (last || !retryable) return response;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfter !== null && retryAfter > options.maxRetryAfterMs) return response;
      await response.body?.cancel();
      await sleep(retryAfter ?? backoffDelay(attempt, options), request.signal);
    }
  };
}

async function fetchWithTimeout(fetchImpl: Fetch, request: Request, timeoutMs: number): Promise<Response> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) return fetchImpl(request);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([request.signal, timeout]);
  try {
    return await fetchImpl(new Request(request, { signal }));
  } catch (error) {
    if (timeout.aborted && !request.signal.aborted) {
      throw new ConnectionTimeoutError(`${request.method} ${request.url} timed out after ${timeoutMs} ms`, {
        cause: error,
      });
    }
    throw error;
  }
}
