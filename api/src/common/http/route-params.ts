import type { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';

/** Per handler and kind of parameter: whether the handler declares one (read once from Nest's route metadata). */
const declared = new WeakMap<object, Map<RouteParamtypes, boolean>>();

/**
 * Whether the route's handler declares a parameter of this kind (`@Query()`, `@Body()`): what the
 * request may carry there at all (query-keys.ts, finding 37; json-body-parser.ts, finding 66).
 */
export function declaresRouteParam(
  context: ExecutionContext,
  kind: RouteParamtypes.QUERY | RouteParamtypes.BODY,
): boolean {
  const handler = context.getHandler();
  let kinds = declared.get(handler);
  if (kinds === undefined) {
    kinds = new Map();
    declared.set(handler, kinds);
  }
  let answer = kinds.get(kind);
  if (answer === undefined) {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as object;
    answer = Object.keys(args).some((key) => key.split(':')[0] === String(kind));
    kinds.set(kind, answer);
  }
  return answer;
}
