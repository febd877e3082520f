import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { InFlightInterceptor } from './in-flight.interceptor';
import { InFlightLimits } from './in-flight-limits';
import { RequestBudgets } from './request-budgets';

/**
 * Per-key and per-project request budgets, charged by the AuthGuard once it knows the caller, and
 * bounds on their requests in flight, held by a global interceptor around each handler.
 */
@Module({
  providers: [RequestBudgets, InFlightLimits, { provide: APP_INTERCEPTOR, useClass: InFlightInterceptor }],
  exports: [RequestBudgets],
})
export class RateLimitModule {}
