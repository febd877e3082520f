import { HttpException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from '../../database/database-unavailable';
import { DomainError } from './domain-error';
import { ERROR_STATUS, type ErrorCode } from './error-codes';

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
  requestId?: string;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'HEADERS_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
};

/** Fastify's own client errors (raised before Nest's pipeline, then wrapped in an HttpException), in the API's words. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type: send application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request body length does not match its Content-Length',
};

/**
 * The error body of a request Fastify's router refuses before any hook, pipe or filter runs
 * (its `frameworkErrors`): a path that is not valid percent-encoding (`%ED%A0%80`, a lone
 * surrogate; `%E0%A4%A`), a path parameter longer than the router's maxParamLength. Left to
 * Fastify these were `{"code":"FST_ERR_BAD_URL"…}` 400s and `FST_ERR_MAX_PARAM_LENGTH` 414s: codes
 * and a status outside the API's documented errors, without a request id (docs/reliability.md,
 * finding 19). Both are the client's path, so a 400 naming `path`.
 */
export function frameworkErrorBody(error: { code?: unknown }, requestId: string): ErrorBody {
  const reason =
    error.code === 'FST_ERR_BAD_URL'
      ? 'is not valid percent-encoded UTF-8'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'has a parameter longer than the API accepts'
        : null;
  if (reason === null) return errorBody(error, requestId);
  return {
    statusCode: 400,
    code: 'VALIDATION_FAILED',
    message: `path: ${reason}`,
    details: [{ field: 'path', reason }],
    requestId,
  };
}

/**
 * The error body of a request refused before Fastify sees it (its `clientErrorHandler`): by Node's
 * HTTP parser (a head past its 16 KiB, a request line or header it cannot read) or by the request
 * timeout (MESHTUNE_REQUEST_TIMEOUT_SECONDS, finding 29). Left to Fastify these were
 * `{"error":"Request Timeout","message":"Client Timeout","statusCode":408}`: no documented code and
 * no request id (docs/reliability.md, finding 36).
 */
export function clientErrorBody(errorCode: unknown, requestId: string): ErrorBody {
  if (errorCode === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      statusCode: 408,
      code: 'REQUEST_TIMEOUT',
      message: 'the request did not arrive whole within MESHTUNE_REQUEST_TIMEOUT_SECONDS',
      requestId,
    };
  }
  if (errorCode === 'HPE_HEADER_OVERFLOW') {
    return {
      statusCode: 431,
      code: 'HEADERS_TOO_LARGE',
      message: "the request line and headers are larger than the server reads (Node's limit, 16 KiB by default)",
      requestId,
    };
  }
  const reason = 'is not a well-formed HTTP/1.1 request';
  return {
    statusCode: 400,
    code: 'VALIDATION_FAILED',
    message: `request: ${reason}`,
    details: [{ field: 'request', reason }],
    requestId,
  };
}

/**
 * The error body of a request whose `Expect` names an expectation other than `100-continue`. Node
 * answers those itself before Fastify sees the request (its `checkExpectation` default): 417 with
 * an empty body, no code, no request id (docs/reliability.md, finding 60). The header is the
 * client's: a 400 naming it, as a header the API does not apply is named (finding 43).
 */
export function expectationErrorBody(requestId: string): ErrorBody {
  const reason =
    'names an expectation the API does not meet (it meets 100-continue alone); send the request without it';
  return {
    statusCode: 400,
    code: 'VALIDATION_FAILED',
    message: `Expect: ${reason}`,
    details: [{ field: 'Expect', reason }],
    requestId,
  };
}

/**
 * Nest's answer to a path no route matches is `Cannot GET /studies`: true, but it does not say what
 * to do. The usual cause is a base URL without `/v1` (or with it twice), so the answer says where
 * the routes are. `path` is cut at 200 characters: the message must not echo a long URL whole.
 */
function unknownRouteMessage(message: string): string {
  const match = /^Cannot ([A-Z]+) (.*)$/s.exec(message);
  if (match === null) return message;
  const path = match[2].length > 200 ? `${match[2].slice(0, 200)}…` : match[2];
  return `no route ${match[1]} ${path}: the API's routes start with /v1 (e.g. GET /v1/studies), GET /docs lists them`;
}

/**
 * A client error a Fastify plugin raised in its own handler: an Error with a 4xx `statusCode` but
 * no `code` (Nest wraps a Fastify error in an HttpException only when it has both). The one such
 * plugin is @fastify/static, behind Swagger UI's files under `/docs`: a path with a `.`, `..` or
 * empty segment (`/docs/..`, `/docs/%2e%2e/package.json`, `/docs//etc/passwd`) it refuses with
 * `Forbidden` (403), which was answered 500 INTERNAL_ERROR and logged as a failure, for anyone
 * without a key (docs/reliability.md, finding 57). That one is the client's path: a 400 naming
 * `path`, like the paths the router refuses (frameworkErrorBody). Any other keeps its status.
 */
function pluginClientError(exception: unknown): Omit<ErrorBody, 'requestId'> | null {
  if (!(exception instanceof Error)) return null;
  const statusCode = (exception as { statusCode?: unknown }).statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 400 || statusCode > 499) {
    return null;
  }
  if (statusCode === 403 && exception.message === 'Forbidden') {
    const reason = 'leaves the folder of files served (a ".", ".." or empty segment)';
    return {
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: `path: ${reason}`,
      details: [{ field: 'path', reason }],
    };
  }
  return {
    statusCode,
    code: CODE_BY_STATUS[statusCode] ?? 'VALIDATION_FAILED',
    message: exception.message.slice(0, 200),
  };
}

/** The one mapping from anything thrown to the API's error body `{ statusCode, code, message, details }`. */
export function errorBody(exception: unknown, requestId: string | undefined): ErrorBody {
  if (exception instanceof DomainError) {
    return {
      statusCode: ERROR_STATUS[exception.code],
      code: exception.code,
      message: exception.message,
      ...(exception.details === undefined ? {} : { details: exception.details }),
      requestId,
    };
  }
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    const response = exception.getResponse();
    const fastifyCode = (exception.cause as { code?: unknown } | undefined)?.code;
    const message =
      (typeof fastifyCode === 'string' ? FASTIFY_MESSAGES[fastifyCode] : undefined) ??
      (typeof response === 'string'
        ? response
        : String((response as { message?: unknown }).message ?? exception.message));
    return {
      statusCode,
      code: CODE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED'),
      message: exception instanceof NotFoundException ? unknownRouteMessage(message) : message,
      requestId,
    };
  }
  const plugin = pluginClientError(exception);
  if (plugin !== null) return { ...plugin, requestId };
  if (isDatabaseUnavailable(exception)) {
    return {
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: 'the database is unavailable; retry after the Retry-After delay',
      requestId,
    };
  }
  if (exception instanceof QueryFailedError && /invalid input syntax for type uuid/.test(exception.message)) {
    return { statusCode: 404, code: 'NOT_FOUND', message: 'no such resource', requestId };
  }
  return {
    statusCode: 500,
    code: 'INTERNAL_ERROR',
    message: 'internal error; quote the requestId when reporting it',
    requestId,
  };
}
