import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error';

/** Largest request body accepted (a NOMAD cache file import is the biggest legitimate one); the adapter's bodyLimit. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

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

/** Parses a JSON request body: `{}` when empty, a 400 when malformed or nested too deep. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DomainError('VALIDATION_FAILED', 'request body is not valid JSON');
  }
  if (jsonDepth(value) > MAX_BODY_DEPTH) {
    throw new DomainError('VALIDATION_FAILED', `the request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
  }
  return value;
}

/** Replaces Fastify's JSON parser (which refuses an empty body) and its text/plain one: the API speaks JSON only. */
export function installJsonBodyParser(instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser(
    // application/json or application/…+json, with or without parameters (charset=utf-8).
    /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i,
    { parseAs: 'string' },
    (_request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void) => {
      try {
        done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (error) {
        done(error as Error);
      }
    },
  );
}
