import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/**
 * One JSON log line per request (request id, method, route, status, duration) and the HTTP
 * duration histogram. Headers and bodies are never logged, so keys never reach the logs.
 */
@Injectable()
export class RequestLoggingMiddleware implements NestMiddleware {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const fullRoute = route === 'unmatched' ? route : `${request.baseUrl}${route}`;
      this.metrics.httpDuration.observe(
        { method: request.method, route: fullRoute, status: String(response.statusCode) },
        seconds,
      );
      this.logger.log({
        message: 'request',
        requestId: request.headers['x-request-id'],
        method: request.method,
        route: fullRoute,
        status: response.statusCode,
        durationMs: Math.round(seconds * 1e4) / 10,
      });
    });
    next();
  }
}
