import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error';
import { errorBody } from './error-body';

/** Seconds a client is told to wait after a 503 (an embedded database restarts within a few). */
const SERVICE_UNAVAILABLE_RETRY_SECONDS = 5;

/**
 * Where errors become HTTP responses: Nest routes here the errors of guards, pipes and handlers,
 * and (through the error handler it installs on Fastify) those of body parsing and 404s.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<FastifyRequest>();
    const reply = context.getResponse<FastifyReply>();
    const body = errorBody(exception, request.headers['x-request-id'] as string | undefined);
    if (body.statusCode >= 500) {
      this.logger.error(
        { message: 'request failed', requestId: body.requestId, method: request.method, path: request.url },
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    if (reply.sent) return;
    // Every 503 is worth retrying (database restarting, process draining): say when.
    if (body.statusCode === 503) void reply.header('Retry-After', String(SERVICE_UNAVAILABLE_RETRY_SECONDS));
    if (exception instanceof DomainError && exception.retryAfterSeconds !== undefined) {
      void reply.header('Retry-After', String(exception.retryAfterSeconds));
    }
    void reply.code(body.statusCode).send(body);
  }
}
