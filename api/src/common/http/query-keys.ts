import { type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { type FieldError, ValidationFailedError } from '../errors/domain-error';
import { childField } from '../errors/field-path';
import { isReservedKey, MAX_BODY_ERRORS, RESERVED_KEY_REASON } from './json-body-parser';
import { declaresRouteParam } from './route-params';

/**
 * The query-string keys no route reads, refused before anything else looks at the request
 * (docs/reliability.md, finding 37). The validation pipe refuses an unknown query key only where a
 * route declares a query DTO, and even there class-transformer drops in silence a key named like a
 * property every object inherits (`constructor`, `toString`, `__proto__`…), as it did in bodies
 * (finding 25): `GET /v1/studies/{id}?format=csv`, `POST /v1/studies/{id}/stop?force=1` and
 * `GET /v1/studies?toString=1` were answered as if the key were not there, which a caller reads as
 * "taken into account". Here: an inherited name is a 400 on every route; a route without `@Query()`
 * takes no key at all. Only the API's own routes (`/v1/…`): the health probes, `/metrics` and the
 * dashboard's pages keep ignoring a query string, as probes and browsers may add one.
 */
export class QueryKeysInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith('/v1/')) return next.handle();
    const query = request.query as Record<string, unknown> | undefined;
    const keys = query === undefined || query === null ? [] : Object.keys(query);
    if (keys.length === 0) return next.handle();
    const declared = declaresRouteParam(context, RouteParamtypes.QUERY);
    const errors: FieldError[] = [];
    for (const key of keys) {
      const field = childField('', key);
      if (isReservedKey(key)) {
        errors.push({ field, reason: RESERVED_KEY_REASON });
      } else if (!declared) {
        errors.push({ field, reason: 'is not a query parameter of this operation (it takes none)' });
      }
      if (errors.length >= MAX_BODY_ERRORS) break;
    }
    if (errors.length > 0) throw new ValidationFailedError(errors);
    return next.handle();
  }
}
