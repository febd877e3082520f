import { ValidationFailedError } from '../errors/domain-error';

/**
 * Headers the API reads that a request may carry once: Node keeps the first of each and drops the
 * others in silence (IncomingMessage's list of headers that must not repeat), so a request with two
 * keys was served as the first key's, and a body labelled `application/json` and `text/plain` was
 * read as JSON, while a proxy or log pipeline in front that reads the last saw another caller or
 * another media type (docs/reliability.md, finding 64; finding 42 is the same for a body's keys).
 * Names in lower case, as written in the error (`field`) in their usual spelling.
 */
const SINGLE_HEADERS: ReadonlyMap<string, string> = new Map([
  ['authorization', 'Authorization'],
  ['content-type', 'Content-Type'],
]);

/**
 * The first header of SINGLE_HEADERS given more than once in `rawHeaders` (Node's name, value,
 * name, value… list, as the client wrote them), or null.
 */
export function repeatedHeader(rawHeaders: readonly string[]): string | null {
  const seen = new Set<string>();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen.has(name)) return SINGLE_HEADERS.get(name)!;
    seen.add(name);
  }
  return null;
}

/** The 400 for a request that repeats one of SINGLE_HEADERS, or null. */
export function repeatedHeaderError(rawHeaders: readonly string[]): ValidationFailedError | null {
  const header = repeatedHeader(rawHeaders);
  if (header === null) return null;
  return new ValidationFailedError([
    { field: header, reason: 'is given more than once; send it once (which one to read is ambiguous)' },
  ]);
}
