import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { API_KEY_SCOPES, type ApiKeyScope } from './api-key-scope';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** scrypt cost for a chosen key: 32 MiB and about 0.1 s a try, paid once per process start. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** The shape of a generated key: `mt_<scope>_` then 43 base64url characters (256 random bits). */
const GENERATED_KEY = new RegExp(`^mt_(${API_KEY_SCOPES.join('|')})_[A-Za-z0-9_-]{43}$`);

/** SHA-256 of a generated key: 256 random bits need no slow hash, and lookups stay one index probe. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `mt_<scope>_<43 base64url chars>`: 256 random bits, scope visible to the person holding it. */
export function generateApiKey(scope: ApiKeyScope): string {
  return `mt_${scope}_${randomBytes(32).toString('base64url')}`;
}

export function isGeneratedKey(key: string): boolean {
  return GENERATED_KEY.test(key);
}

/** For listings: the scope tag and a few of the 256 random bits (at most 4 characters). */
export function generatedKeyPrefix(key: string): string {
  return key.slice(0, Math.min(key.length, 12));
}

/**
 * A chosen key (MESHTUNE_ADMIN_KEY) may be guessable, so its stored hash is scrypt with a
 * random salt: a copy of the database no longer gives it away in seconds (SHA-256 did).
 */
export async function hashChosenKey(key: string, salt: string): Promise<string> {
  return (await scryptAsync(key, Buffer.from(salt, 'base64'), 32, SCRYPT)).toString('hex');
}

export function newSalt(): string {
  return randomBytes(16).toString('base64');
}

export async function chosenKeyMatches(key: string, salt: string, keyHash: string): Promise<boolean> {
  const expected = Buffer.from(keyHash, 'hex');
  const actual = Buffer.from(await hashChosenKey(key, salt), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** What listings show for a chosen key: a tag and 6 hex digits of its salted hash, none of its characters. */
export function chosenKeyFingerprint(keyHash: string): string {
  return `chosen:${keyHash.slice(0, 6)}`;
}

/** Constant-time equality of two keys (through their SHA-256, so lengths do not leak either). */
export function sameKey(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
