/**
 * Every error the SDK throws is a `MeshtuneError`. HTTP errors are `ApiError`s, one subclass per
 * status (as openai-node does), carrying the API's stable `code` from its error body
 * `{ statusCode, code, message, details?, requestId? }`.
 */

import { ERROR_STATUS } from './generated/error-codes.js';

export { ERROR_STATUS };

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The known codes answered with this HTTP status. */
export type ErrorCodeWithStatus<S extends number> = {
  [C in ErrorCode]: (typeof ERROR_STATUS)[C] extends S ? C : never;
}[ErrorCode];

/** The JSON body of every 4xx/5xx answer. */
export interface ApiErrorBody {
  statusCode: number;
  /** A known code, or a newer one this SDK version does not list yet. */
  code: ErrorCode | (string & {});
  message: string;
  details?: unknown;
  requestId?: string;
}

export class MeshtuneError extends Error {
  override name = 'MeshtuneError';
}

/** The API answered with an error status. */
export class ApiError extends MeshtuneError {
  override name = 'ApiError';
  readonly status: number;
  readonly code: ErrorCode | (string & {});
  readonly details: unknown;
  readonly requestId: string | undefined;
  readonly headers: Headers;

  constructor(status: number, body: ApiErrorBody, headers: Headers) {
    super(`${status} ${body.code}: ${body.message}`);
    this.status = status;
    this.code = body.code;
    this.details = body.details;
    this.requestId = body.requestId ?? headers.get('x-request-id') ?? undefined;
    this.headers = headers;
  }
}

/** 400: the request failed validation (`VALIDATION_FAILED`, `INVALID_NOMAD_PARAMETERS`). */
export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
  declare readonly status: 400;
}
/** 401: missing, unknown or revoked API key. */
export class AuthenticationError extends ApiError {
  override name = 'AuthenticationError';
  declare readonly status: 401;
}
/** 403: the key's scope does not allow this, or the trial is leased to another runner. */
export class PermissionDeniedError extends ApiError {
  override name = 'PermissionDeniedError';
  declare readonly status: 403;
}
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  declare readonly status: 404;
}
/** 409: the resource is not in a state that allows this (e.g. `LEASE_LOST`, `STUDY_FINISHED`). */
export class ConflictError extends ApiError {
  override name = 'ConflictError';
  declare readonly status: 409;
}
/** 408: the request did not arrive whole within the API's request timeout (`REQUEST_TIMEOUT`). */
export class RequestTimeoutError extends ApiError {
  override name = 'RequestTimeoutError';
  declare readonly status: 408;
}
export class PayloadTooLargeError extends ApiError {
  override name = 'PayloadTooLargeError';
  declare readonly status: 413;
}
export class UnsupportedMediaTypeError extends ApiError {
  override name = 'UnsupportedMediaTypeError';
  declare readonly status: 415;
}
/** 429: retried automatically for idempotent calls, honouring `Retry-After`. */
export class RateLimitError extends ApiError {
  override name = 'RateLimitError';
  declare readonly status: 429;
}
/** 431: the request line and headers are larger than the API reads (`HEADERS_TOO_LARGE`). */
export class HeadersTooLargeError extends ApiError {
  override name = 'HeadersTooLargeError';
  declare readonly status: 431;
}
/** 5xx. */
export class InternalServerError extends ApiError {
  override name = 'InternalServerError';
}
/** 503: retried automatically for idempotent calls, honouring `Retry-After`. */
export class ServiceUnavailableError extends InternalServerError {
  override name = 'ServiceUnavailableError';
  declare readonly status: 503;
}

/** No HTTP answer at all (DNS, refused connection, reset). */
export class ConnectionError extends MeshtuneError {
  override name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
/** The per-request timeout (`timeoutMs`) elapsed. */
export class ConnectionTimeoutError extends ConnectionError {
  override name = 'ConnectionTimeoutError';
}
/**
 * The API answered, but with a reply the SDK will not use: a redirect (never followed: the key
 * stays with `baseUrl`), a body past `maxReplyBytes`, a success whose body is not JSON (a proxy's
 * HTML page), or JSON of another shape than the runner protocol's (a missing field, a field of
 * another type, an id that is not a plain name). `status` is the reply's HTTP status.
 */
export class UnreadableReplyError extends MeshtuneError {
  override name = 'UnreadableReplyError';
  readonly status: number;
  readonly url: string;
  constructor(message: string, status: number, url: string) {
    super(message);
    this.status = status;
    this.url = url;
  }
}
/** `waitForStudy` gave up after its `timeoutMs`. */
export class WaitTimeoutError extends MeshtuneError {
  override name = 'WaitTimeoutError';
}

/** The error class thrown for each status. */
export interface ErrorClassByStatus {
  400: BadRequestError;
  401: AuthenticationError;
  403: PermissionDeniedError;
  404: NotFoundError;
  408: RequestTimeoutError;
  409: ConflictError;
  413: PayloadTooLargeError;
  415: UnsupportedMediaTypeError;
  429: RateLimitError;
  431: HeadersTooLargeError;
  500: InternalServerError;
  503: ServiceUnavailableError;
}

/** The error thrown for a code: e.g. `ApiErrorFor<'LEASE_LOST'>` is a `ConflictError` with that code. */
export type ApiErrorFor<C extends ErrorCode> = ErrorClassByStatus[(typeof ERROR_STATUS)[C]] & { readonly code: C };

/** Narrows an unknown error to the API error with this code: `if (hasErrorCode(e, 'LEASE_LOST')) …`. */
export function hasErrorCode<C extends ErrorCode>(error: unknown, code: C): error is ApiErrorFor<C> {
  return error instanceof ApiError && error.code === code;
}

/** Characters of an error body kept in an error's message: a proxy's page can be megabytes. */
const MAX_MESSAGE_CHARS = 2_000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function parseBody(status: number, text: string, contentType: string | null): ApiErrorBody {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.code === 'string') {
      return {
        statusCode: typeof parsed.statusCode === 'number' ? parsed.statusCode : status,
        code: clip(parsed.code, 200),
        message: clip(typeof parsed.message === 'string' ? parsed.message : text, MAX_MESSAGE_CHARS),
        details: parsed.details,
        requestId: typeof parsed.requestId === 'string' ? clip(parsed.requestId, 200) : undefined,
      };
    }
  } catch {
    // not JSON: a proxy's or load balancer's page (502/503 text/html…), said as such below
  }
  // Not the API's error body: say so, with the start of the text as one line (tags and all).
  const excerpt = clip(text.replace(/\s+/g, ' ').trim(), 300);
  const what = `HTTP ${status} reply that is not the API's error body (${contentType ?? 'no content-type'})`;
  return {
    statusCode: status,
    code: status >= 500 ? 'INTERNAL_ERROR' : 'UNKNOWN',
    message: excerpt === '' ? what : `${what}: ${excerpt}`,
  };
}

/** Builds the typed error for an error response (reads its body). */
export async function apiErrorFromResponse(response: Response): Promise<ApiError> {
  const body = parseBody(response.status, await response.text(), response.headers.get('content-type'));
  const { status, headers } = response;
  switch (status) {
    case 400:
      return new BadRequestError(status, body, headers);
    case 401:
      return new AuthenticationError(status, body, headers);
    case 403:
      return new PermissionDeniedError(status, body, headers);
    case 404:
      return new NotFoundError(status, body, headers);
    case 408:
      return new RequestTimeoutError(status, body, headers);
    case 409:
      return new ConflictError(status, body, headers);
    case 413:
      return new PayloadTooLargeError(status, body, headers);
    case 415:
      return new UnsupportedMediaTypeError(status, body, headers);
    case 429:
      return new RateLimitError(status, body, headers);
    case 431:
      return new HeadersTooLargeError(status, body, headers);
    case 503:
      return new ServiceUnavailableError(status, body, headers);
    default:
      return status >= 500 ? new InternalServerError(status, body, headers) : new ApiError(status, body, headers);
  }
}
