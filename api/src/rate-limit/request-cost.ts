import { SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export const REQUEST_COST = 'meshtune:request-cost';

/**
 * Expensive-read points, sized against the default budget (10 points a second per project): two
 * engine reads a second (a dashboard tab reads one every 5 s), or one export or NOMAD cache
 * import a second. Ordinary routes cost nothing here; every route counts one request.
 */
export const ENGINE_READ_COST = 5;
/** A CSV/NOMAD history export or a NOMAD cache import: every finished trial of a study, or up to 4 MB into its engine. */
export const STUDY_SCAN_COST = 10;

/** Points a request takes from its project's expensive-read budget: a number, or one read from the request. */
export type RequestCostRule = number | ((request: FastifyRequest) => number);

/**
 * Marks a route that loads a study engine or scans a whole study: besides counting as one request
 * in the key's and the project's request budgets, each call takes `cost` points from the
 * project's tighter expensive-read budget (request-budgets.ts; README.md, "Rate limits").
 */
export const RequestCost = (cost: RequestCostRule): MethodDecorator & ClassDecorator => SetMetadata(REQUEST_COST, cost);

/** What one call of a route costs in the expensive-read budget (0 for ordinary routes). */
export function requestCost(rule: RequestCostRule | undefined, request: FastifyRequest): number {
  if (rule === undefined) return 0;
  return typeof rule === 'number' ? rule : rule(request);
}
