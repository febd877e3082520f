/**
 * What the SDK accepts of a reply before it uses it: a bounded body, no redirect, and, for the
 * runner protocol `runWorker` drives, the fields it reads with the types it reads them as. The
 * API is not the only thing that can answer `baseUrl` (proxies, load balancers, captive portals,
 * a server in the middle), and the process embedding the SDK must not be the one to pay for it
 * (docs/reliability.md, findings 44 and 45; the Python runner's own checks are findings 39–40).
 */
import { raceAbort } from './abort.js';
import { ConnectionError, MeshtuneError, UnreadableReplyError } from './errors.js';

/** Bytes of one reply body read at most (decoded); the API's largest, a history page, is ~4 MiB. */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Statuses whose reply has no body (a `Response` built with one throws). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function where(request: Request): string {
  return `${request.method} ${new URL(request.url).pathname}`;
}

/**
 * The reply read whole into memory, at most `maxBytes` of it, before `signal` (the attempt's
 * timeout, or the caller's abort) ends; returned as a new `Response` whose body is those bytes.
 * A redirect is refused: following it would send the key (`Authorization`) and the request's body
 * to wherever `Location` points, and a 301/302/303 turns a POST report into a GET of another URL
 * whose 200 would read as the report's success.
 */
export async function boundedReply(
  request: Request,
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Response> {
  const { status } = response;
  if (status >= 300 && status < 400) {
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    throw new UnreadableReplyError(
      `${where(request)}: the API answered ${status}, a redirect to ${JSON.stringify(location ?? '')}; ` +
        'redirects are not followed (the API key goes only to baseUrl): set baseUrl to the address that answers',
      status,
      request.url,
    );
  }
  const tooLarge = (): UnreadableReplyError =>
    new UnreadableReplyError(
      `${where(request)}: the HTTP ${status} reply is larger than maxReplyBytes (${maxBytes} bytes)`,
      status,
      request.url,
    );
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  let body: Uint8Array<ArrayBuffer> | null = null;
  if (response.body !== null && !NULL_BODY_STATUSES.has(status)) {
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    // Each read races the signal: a custom `fetch` may ignore it, and a body that never ends
    // must not hold the caller past its timeout.
    try {
      for (;;) {
        const { done, value } = await raceAbort(reader.read(), signal);
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) throw tooLarge();
        chunks.push(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      if (error instanceof MeshtuneError || signal.aborted) throw error;
      // The connection broke mid-body: no whole answer, as if none had come.
      throw new ConnectionError(`${where(request)}: the reply was cut off: ${String(error)}`, { cause: error });
    }
    body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
  }
  const copy = new Response(body, { status, statusText: response.statusText, headers: response.headers });
  // `Response.url` is read-only and empty on a built response; errors name the URL.
  Object.defineProperty(copy, 'url', { value: response.url || request.url });
  return copy;
}

/**
 * The API's ids are UUIDs; any plain name is accepted (a test server's `t1`), nothing that could
 * change the path it is put in or be a file name elsewhere (`..`, `a/b`, `a?b`, `%2e%2e`, NUL,
 * newlines, 5,000 characters). The same rule as the Python runner's (finding 40).
 */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function isPlainName(value: unknown): value is string {
  return typeof value === 'string' && PLAIN_NAME.test(value);
}

/**
 * openapi-fetch's path serializer, stricter: each path parameter must be a non-empty string (or
 * a finite number) and is percent-encoded whole (`a/b` → `a%2Fb`, `%2e` → `%252e`). `.` and `..`
 * are refused: percent-encoding leaves them as they are and URL parsing then removes or climbs
 * the segment (`/v1/trials/../complete` is `/v1/complete`). An id left `undefined` would have
 * stayed a literal `{trialId}`.
 */
export function pathSerializer(pathname: string, params: Record<string, unknown> | undefined): string {
  return pathname.replace(/\{([^{}]+)\}/g, (_match, name: string) => {
    const value = params?.[name];
    const ok =
      (typeof value === 'string' && value !== '' && value !== '.' && value !== '..') ||
      (typeof value === 'number' && Number.isFinite(value));
    if (!ok) {
      const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : String(typeof value);
      throw new MeshtuneError(`${name} must be a non-empty string other than "." and "..", got ${shown}`);
    }
    return encodeURIComponent(String(value));
  });
}

/** Reads `body` as the runner protocol's reply of `what`; refuses one the SDK could not use. */
export class ReplyReader {
  constructor(
    private readonly what: string,
    private readonly response: Response,
  ) {}

  fail(field: string, expected: string, value: unknown): never {
    let shown: string;
    try {
      shown = JSON.stringify(value)?.slice(0, 100) ?? String(value);
    } catch {
      shown = typeof value;
    }
    throw new UnreadableReplyError(
      `${this.what}: the HTTP ${this.response.status} reply is not the API's: ${field} must be ${expected}, got ${shown}`,
      this.response.status,
      this.response.url,
    );
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'a JSON object', value);
    return value as Record<string, unknown>;
  }

  id(value: unknown, field: string): string {
    if (!isPlainName(value)) this.fail(field, 'a plain name (letters, digits, "_", "." and "-")', value);
    return value;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') this.fail(field, 'a string', value);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, 'true or false', value);
    return value;
  }

  number(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      this.fail(field, `a number in [${min}, ${max}]`, value);
    }
    return value;
  }
}
