import { Transform } from 'class-transformer';

/** A UUID in its one spelling (lower case), or the value as given when it is not a string. */
export function canonicalId<T>(value: T): T | string {
  return typeof value === 'string' ? value.toLowerCase() : value;
}

/**
 * Reads a UUID field in its one spelling. PostgreSQL reads `ABC…` and `abc…` as the same id, but
 * the API keeps in-process state keyed by id (the engine hand-over and its committed versions,
 * one engine ask per study, study-change notices): a request naming a study in another spelling
 * made the next engine call rebuild the engine from its snapshot (docs/reliability.md, finding 28).
 * Put next to `@IsUUID` on every id a request carries (path, query, body).
 */
export function CanonicalId(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => canonicalId(value));
}
