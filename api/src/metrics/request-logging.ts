import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { MetricsService } from './metrics.service';

/**
 * One JSON log line per request (request id, method, route, status, duration) and the HTTP
 * duration histogram. Headers and bodies are never logged, so keys never reach the logs.
 */
export function installRequestLogging(instance: FastifyInstance, metrics: MetricsService): void {
  const logger = new Logger('HTTP');
  instance.addHook('onResponse', (request, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    logger.log({
      message: 'request',
      requestId: request.headers['x-request-id'],
      method: request.method,
      route,
      status: reply.statusCode,
      durationMs: Math.round(seconds * 1e4) / 10,
    });
    done();
  });
}
