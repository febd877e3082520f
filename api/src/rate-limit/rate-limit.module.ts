import { Module } from '@nestjs/common';
import { RequestBudgets } from './request-budgets';

/** Per-key and per-project request budgets, charged by the AuthGuard once it knows the caller. */
@Module({ providers: [RequestBudgets], exports: [RequestBudgets] })
export class RateLimitModule {}
