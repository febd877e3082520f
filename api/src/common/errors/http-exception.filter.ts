import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
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
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** Errors thrown by express' body parser carry a status and a type instead of being HttpExceptions. */
interface BodyParserError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message: string;
}

function bodyParserError(error: unknown): BodyParserError | null {
  if (typeof error !== 'object' || error === null) return null;
  const candidate = error as BodyParserError;
  const status = candidate.status ?? candidate.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 && candidate.expose === true ? candidate : null;
}

/** The one place where errors become HTTP responses: `{ statusCode, code, message, details }`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<Request>();
    const response = context.getResponse<Response>();
    const body = this.toBody(exception, request);
    if (body.statusCode >= 500) {
      this.logger.error(
        { message: 'request failed', requestId: body.requestId, method: request.method, path: request.path },
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, request: Request): ErrorBody {
    const requestId = request.headers['x-request-id'] as string | undefined;
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
      const message =
        typeof response === 'string'
          ? response
          : String((response as { message?: unknown }).message ?? exception.message);
      return {
        statusCode,
        code: CODE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED'),
        message,
        requestId,
      };
    }
    const parserError = bodyParserError(exception);
    if (parserError !== null) {
      const statusCode = parserError.status ?? parserError.statusCode ?? 400;
      const message =
        parserError.type === 'entity.parse.failed' ? 'request body is not valid JSON' : parserError.message;
      return { statusCode, code: CODE_BY_STATUS[statusCode] ?? 'VALIDATION_FAILED', message, requestId };
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
}
