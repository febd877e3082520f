import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../common/errors/domain-error';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { ApiKeyScope } from './api-key-scope';
import { ApiKeysService } from './api-keys.service';
import { type Caller, PUBLIC_ROUTE, REQUIRED_SCOPES, RUNNER_TOKEN_ROUTE } from './auth.decorators';
import { RequestBudgets } from '../rate-limit/request-budgets';
import { REQUEST_COST, requestCost, type RequestCostRule } from '../rate-limit/request-cost';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { canonicalId } from '../common/dto/canonical-id';

const BEARER = /^Bearer\s+(\S{1,512})$/i;

/**
 * Global guard: every route needs a key unless marked @Public (docs/reliability.md, "Who can do
 * what"); an authenticated request is then charged to its key's and project's request budgets
 * (api/src/rate-limit/request-budgets.ts).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly limiter: FailedAuthLimiter;

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly budgets: RequestBudgets,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limiter = new FailedAuthLimiter(config.authFailuresPerMinute, 60_000);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest<{ Params: { runnerId?: string } }> & { caller?: Caller }>();
    const client = request.ip;
    const match = BEARER.exec(request.headers.authorization ?? '');
    // A limited address may still use generated keys (256 random bits: nothing to guess, so
    // accepting them tells a guesser nothing); one misconfigured client behind a NAT or proxy
    // no longer locks out every runner there. Guessable keys (the chosen admin key) wait.
    const limited = this.limiter.isBlocked(client);
    if (limited && (match === null || this.apiKeys.isGuessable(match[1]))) {
      throw new DomainError('TOO_MANY_REQUESTS', 'too many failed authentications from this address; try again later');
    }
    if (match === null) {
      this.limiter.recordFailure(client);
      throw new DomainError('UNAUTHENTICATED', 'missing API key: send "Authorization: Bearer <key>"');
    }
    const key = await this.apiKeys.authenticate(match[1]);
    if (key === null) {
      this.limiter.recordFailure(client);
      if (limited) {
        throw new DomainError(
          'TOO_MANY_REQUESTS',
          'too many failed authentications from this address; try again later',
        );
      }
      throw new DomainError('UNAUTHENTICATED', 'unknown or revoked API key');
    }
    const caller: Caller = { keyId: key.id, scope: key.scope, runnerId: key.runnerId, projectId: key.projectId };
    request.caller = caller;
    // Charged once the caller is known and before the scope check, so that a flood of refused
    // requests counts too; a request over budget is answered before its handler runs.
    await this.budgets.charge(
      caller,
      requestCost(this.reflector.getAllAndOverride<RequestCostRule>(REQUEST_COST, targets), request),
    );

    if (this.reflector.getAllAndOverride<boolean>(RUNNER_TOKEN_ROUTE, targets)) {
      if (caller.runnerId === null) {
        throw new DomainError('FORBIDDEN', 'this route needs a runner token (returned by POST /v1/runners)');
      }
      // Guards run before the pipes that put ids in their one spelling (finding 28): compare so.
      const runnerId = request.params.runnerId;
      if (runnerId !== undefined && canonicalId(runnerId) !== caller.runnerId) {
        throw new DomainError('FORBIDDEN', 'a runner token may only act for its own runner');
      }
      return true;
    }
    const scopes = this.reflector.getAllAndOverride<ApiKeyScope[]>(REQUIRED_SCOPES, targets) ?? ['admin'];
    if (caller.scope === 'admin' || scopes.includes(caller.scope)) {
      return true;
    }
    throw new DomainError(
      'FORBIDDEN',
      `this route needs a key with scope ${scopes.join(' or ')}; this key has scope ${caller.scope}`,
    );
  }
}
