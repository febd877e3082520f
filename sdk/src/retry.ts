import { ConnectionError, ConnectionTimeoutError, UnreadableReplyError } from './errors.js';
import { raceAbort } from './abort.js';
import { boundedReply, DEFAULT_MAX_REPLY_BYTES } from './reply.js';

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

/** setTimeout's longest delay: a longer one (or NaN) fires at once, which turned long waits into spins. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms` (clamped to [0, 2^31 − 1]) or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  const delay = Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, 0), MAX_TIMER_MS);
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, delay);
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

/** What one attempt may take of a reply: its time (`timeoutMs`, headers and body) and bytes. */
export interface ReplyBounds {
  timeoutMs: number;
  maxReplyBytes?: number;
}

/**
 * Wraps `fetch` with a per-attempt bound (time from request to the body's last byte, and the
 * body's size; redirects refused: reply.ts `boundedReply`) and, for idempotent calls, retries on
 * network errors, timeouts, a body cut off, and 408/429/5xx answers. Any call, idempotent or not,
 * is retried on 429: the API refuses a request over a rate limit (RATE_LIMITED) or from an
 * address with too many failed authentications (TOO_MANY_REQUESTS) before its handler runs, so
 * nothing of it was written. A `Retry-After` header sets the wait (one longer than
 * `maxRetryAfterMs` is not waited: the answer is returned); otherwise backoff with jitter. The last
 * answer (error status included) or error is what the caller sees.
 */
/**
 * Node's fetch rejects every network failure with `TypeError: fetch failed`; what happened
 * (`connect ECONNREFUSED 127.0.0.1:3000`, `getaddrinfo ENOTFOUND meshtune`, a certificate the
 * system does not trust) is only in its `cause`, which a printed message would not show.
 */
export function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const detail = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : '';
  return detail === '' ? String(error) : `${String(error)} (${detail})`;
}

export function retryingFetch(fetchImpl: Fetch, retry: RetryOptions, bounds: ReplyBounds): Fetch {
  const options = withRetryDefaults(retry);
  return async (request: Request): Promise<Response> => {
    const idempotent = isIdempotent(request);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= options.maxRetries;
      let response: Response;
      try {
        response = await boundedAttempt(fetchImpl, last ? request : request.clone(), bounds);
      } catch (error) {
        // A reply refused as a whole (redirect, too large) would come again: not retried.
        if (request.signal.aborted || error instanceof UnreadableReplyError) throw error;
        const wrapped =
          error instanceof ConnectionError
            ? error
            : new ConnectionError(`request to ${request.method} ${request.url} failed: ${fetchFailure(error)}`, {
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
      await sleep(retryAfter ?? backoffDelay(attempt, options), request.signal);
    }
  };
}

async function boundedAttempt(fetchImpl: Fetch, request: Request, bounds: ReplyBounds): Promise<Response> {
  const { timeoutMs } = bounds;
  const maxBytes = bounds.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const timeout = Number.isFinite(timeoutMs) && timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : null;
  const signal = timeout === null ? request.signal : AbortSignal.any([request.signal, timeout]);
  // `manual`: a 3xx comes back as it is, and boundedReply refuses it (the key stays with baseUrl).
  const bounded = new Request(request, { signal, redirect: 'manual' });
  try {
    // Raced against the timeout and the request's signal themselves, not only through `bounded`'s
    // signal, which fetch may stop following after a garbage collection (abort.ts).
    return await raceAbort(
      (async () => boundedReply(bounded, await fetchImpl(bounded), maxBytes, signal))(),
      timeout,
      request.signal,
    );
  } catch (error) {
    if (timeout?.aborted && !request.signal.aborted) {
      throw new ConnectionTimeoutError(`${request.method} ${request.url} timed out after ${timeoutMs} ms`, {
        cause: error,
      });
    }
    throw error;
  }
}
