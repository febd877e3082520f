import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';

/** Deeper than any legitimate body; validation recurses, so deeper bodies are refused before it runs. */
export const MAX_BODY_DEPTH = 32;

/** Nesting depth of a parsed JSON value, measured without recursion. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_BODY_DEPTH) return deepest;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

@Injectable()
export class BodyDepthMiddleware implements NestMiddleware {
  use(request: Request, _response: Response, next: NextFunction): void {
    if (jsonDepth(request.body) > MAX_BODY_DEPTH) {
      throw new DomainError('VALIDATION_FAILED', `the request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
    }
    next();
  }
}
