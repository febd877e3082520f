import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyScope } from './api-key-scope';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `mt_<scope>_<43 base64url chars>`: 256 random bits, scope visible to the person holding it. */
export function generateApiKey(scope: ApiKeyScope): string {
  return `mt_${scope}_${randomBytes(32).toString('base64url')}`;
}

export function keyPrefix(key: string): string {
  return key.slice(0, Math.min(key.length, 12));
}
