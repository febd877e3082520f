import {
  type CallHandler,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { finalize, from, type Observable, switchMap } from 'rxjs';
import { type InFlightCaller, InFlightLimits, type InFlightSlot } from './in-flight-limits';

interface SlottedRequest {
  /** Set by the AuthGuard (auth/auth.guard.ts). */
  caller?: InFlightCaller;
  inFlightSlot?: InFlightSlot | null;
}

/**
 * Holds each authenticated request's place among its key's and project's requests in flight
 * (in-flight-limits.ts) from before its handler runs (after the AuthGuard, before validation) until
 * both its handler has settled and its response is closed, whichever is later: a streamed export
 * goes on after its handler returned, and a handler goes on (its queries included) after its
 * client went away, so releasing at either alone would let a project hold more than its bound of
 * the database by streaming or by hanging up and asking again. Both always happen (a response
 * closes when it is sent, fails or its connection drops), so nothing leaks.
 */
@Injectable()
export class InFlightInterceptor implements NestInterceptor {
  constructor(private readonly limits: InFlightLimits) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<SlottedRequest>();
    const caller = request.caller;
    // Public routes (health, metrics, the dashboard's files) have no caller and no bound.
    if (caller === undefined) return next.handle();
    const response = http.getResponse<FastifyReply>().raw;
    return from(this.limits.enter(caller)).pipe(
      switchMap((slot) => {
        request.inFlightSlot = slot;
        if (slot === null) return next.handle();
        let pending = 2;
        const settle = (): void => {
          if (--pending === 0) slot.release();
        };
        if (response.closed) settle();
        else response.once('close', settle);
        return next.handle().pipe(finalize(settle));
      }),
    );
  }
}

/**
 * The request's in-flight slot (null on a route or for a caller without a bound): a handler that
 * parks (a lease waiting for results) gives it back while it waits and takes it again after.
 */
export const CurrentInFlightSlot = createParamDecorator(
  (_data: unknown, context: ExecutionContext): InFlightSlot | null =>
    context.switchToHttp().getRequest<SlottedRequest>().inFlightSlot ?? null,
);
