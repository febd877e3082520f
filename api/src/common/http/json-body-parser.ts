import { childField, itemField } from '../errors/field-path';
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { from, type Observable, switchMap } from 'rxjs';
import { DomainError, type FieldError, ValidationFailedError } from '../errors/domain-error';
import { declaresRouteParam } from './route-params';

/** Largest request body accepted (a NOMAD cache file import is the biggest legitimate one); the adapter's bodyLimit. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

/**
 * The shape every JSON body must have before anything else reads it. Validation (class-transformer,
 * class-validator) recurses, and class-transformer de-duplicates an object's keys in quadratic time
 * (10⁵ keys: 11–47 s with the event loop blocked), so these bounds are checked first, on every
 * route, by one linear pass over the text (checkJsonShape). The largest legitimate body is far inside them: 200 parameters of 100
 * values, 100 X0 points of 200 keys, 1,000 metric points.
 */
export const JSON_BODY_LIMITS = {
  /** Nesting depth of objects and arrays. */
  depth: 32,
  /** Keys of one object. */
  objectKeys: 1_000,
  /** Items of one array. */
  arrayItems: 10_000,
  /** Values (objects, arrays, strings, numbers, booleans, nulls) in the whole body. */
  values: 200_000,
} as const;

/** Problems reported from one body (or one query string, query-keys.ts): the walk stops there. */
export const MAX_BODY_ERRORS = 20;

/**
 * Keys every JavaScript object already has (`__proto__`, `constructor`, `toString`,
 * `hasOwnProperty`…). Copying `__proto__` (as class-transformer does) changes the object's
 * prototype; class-transformer drops the others in silence (a member whose target already holds a
 * function is skipped), so a trainingConfig was stored without them, and an enqueued point or
 * outputs with an extra `constructor` passed where any other unknown name is a 400
 * (docs/reliability.md, finding 25). Refused here, on every route, at any depth.
 */
const RESERVED_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Whether a key (of a body or a query string) is a name every JavaScript object already has. */
export function isReservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key);
}

/** The reason a field error gives for a key isReservedKey refuses (bodies and query strings alike). */
export const RESERVED_KEY_REASON = 'is a reserved name (every JavaScript object has a property of that name)';

/** Why a number of a body is refused when JSON.parse read it as ±Infinity (past the largest double). */
const NON_FINITE_NUMBER_REASON =
  'is a number past the largest double (about 1.8e308): it reads as Infinity, which JSON cannot store';

/** Digits, sign, decimal point and exponent: the characters of a JSON number token. */
function isNumberCharacter(char: number): boolean {
  return (
    (char >= 0x30 && char <= 0x39) || char === 0x2e || char === 0x65 || char === 0x45 || char === 0x2b || char === 0x2d
  );
}

/**
 * Why an integer literal is refused, or null: one past 2^53 that reads as another number (finding
 * 68). `"seed": 12345678901234567890` was stored as 12345678901234567000 and handed to runners so,
 * a value the user never wrote. Kept: an integer a double holds exactly (2^60, 10^20), and one that
 * a double prints back as written (a JavaScript client's `JSON.stringify(1.2345678901234567e20)`
 * writes `123456789012345670000`), since either reads back as the number sent. Fractions and
 * exponents are decimal by nature and left as they are; past the largest double is
 * NON_FINITE_NUMBER_REASON's case.
 */
function inexactIntegerReason(token: string): string | null {
  const digits = token.startsWith('-') ? token.length - 1 : token.length;
  // 15 digits or fewer are below 2^53; past 309 the token is Infinity.
  if (digits <= 15 || digits > 309 || !/^-?\d+$/.test(token)) return null;
  const read = Number(token);
  if (String(read) === token || BigInt(read) === BigInt(token)) return null;
  return (
    `is an integer past 2^53 that a double cannot hold: it would be stored as ${String(read)}; ` +
    'send it as a string to keep every digit'
  );
}

/** A UTF-16 surrogate without its pair: JSON allows it (`"\ud800"`), Unicode text (and PostgreSQL) does not. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as text, or null. PostgreSQL refuses U+0000 in text and jsonb. */
export function invalidTextReason(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired UTF-16 surrogate (it is not valid Unicode text)';
  return null;
}

interface Container {
  isArray: boolean;
  /** Commas seen so far: the index of the current item, members − 1. */
  commas: number;
  /** Object: the key of the current member (raw JSON text, for the error's field path). */
  key: string;
  /** Object: the next string is a key. */
  expectKey: boolean;
  /** Object: its place among the body's objects, in the order they open (JsonObjects). */
  ordinal: number;
}

/**
 * What checkJsonShape saw of the body's objects, in the order they open in the text (the order a
 * depth-first walk of the parsed value meets them): how many members each was written with, and
 * where it starts. A parsed object with fewer keys than that had a key given twice.
 */
export interface JsonObjects {
  members: number[];
  starts: number[];
}

/**
 * The first key given twice in the object whose `{` is at `start`, as JSON reads keys (escapes
 * decoded), or null. Called only for an object that lost a key in JSON.parse (at most 1,000 keys).
 */
function duplicateKeyAt(text: string, start: number): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = true;
  for (let index = start + 1; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (char === 0x22 /* " */) {
      let end = index + 1;
      while (end < text.length && text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      if (depth === 0 && expectKey) {
        const key = decodedKey(text.slice(index + 1, end));
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      index = end;
    } else if (char === 0x7b || char === 0x5b) {
      depth += 1;
    } else if (char === 0x7d || char === 0x5d) {
      if (depth === 0) return null;
      depth -= 1;
    } else if (char === 0x2c && depth === 0) {
      expectKey = true;
    }
  }
  return null;
}

/** A key's text between its quotes as JSON.parse reads it (`\u0061` is `a`); malformed text is left to JSON.parse. */
function decodedKey(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** `trainingConfig.layers[3].name`, the notation of the validation pipe's field paths; bounded for the error body. */
function pathOf(containers: readonly Container[], count: number): string {
  let path = '';
  for (let index = 0; index < count && path.length < 300; index += 1) {
    const container = containers[index];
    path = container.isArray ? itemField(path, container.commas) : childField(path, container.key);
  }
  return path === '' ? 'body' : path.slice(0, 300);
}

/**
 * Measures the shape of a JSON text in one pass over its characters, before JSON.parse builds
 * anything (parsing a 5 MB object of 350,000 keys alone takes about half a second): depth,
 * members of every object and array, values in all; and, into `objects`, the members each object
 * was written with. Malformed text is left for JSON.parse to refuse.
 */
export function checkJsonShape(text: string, objects?: JsonObjects): FieldError | null {
  const containers: Container[] = [];
  let values = 1;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (char === 0x22 /* " */) {
      let end = index + 1;
      while (end < text.length) {
        const inner = text.charCodeAt(end);
        if (inner === 0x5c /* \ */) end += 2;
        else if (inner === 0x22) break;
        else end += 1;
      }
      const top = containers[containers.length - 1];
      if (top !== undefined && top.expectKey) {
        top.key = text.slice(index + 1, Math.min(end, index + 65));
        top.expectKey = false;
        if (objects !== undefined) objects.members[top.ordinal] += 1;
      }
      index = end;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      const isArray = char === 0x5b;
      let ordinal = -1;
      if (!isArray && objects !== undefined) {
        ordinal = objects.members.push(0) - 1;
        objects.starts.push(index);
      }
      containers.push({ isArray, commas: 0, key: '', expectKey: !isArray, ordinal });
      if (containers.length > JSON_BODY_LIMITS.depth) {
        return {
          field: pathOf(containers, containers.length - 1),
          reason: `is nested deeper than ${JSON_BODY_LIMITS.depth} levels`,
        };
      }
    } else if (char === 0x2d /* - */ || (char >= 0x30 && char <= 0x39) /* 0-9 */) {
      let end = index + 1;
      while (end < text.length && isNumberCharacter(text.charCodeAt(end))) end += 1;
      // Only a token longer than 15 characters can be an integer past 2^53: no copy of the others.
      if (end - index > 15) {
        const reason = inexactIntegerReason(text.slice(index, end));
        if (reason !== null) return { field: pathOf(containers, containers.length), reason };
      }
      index = end - 1;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      containers.pop();
    } else if (char === 0x2c /* , */) {
      const top = containers[containers.length - 1];
      if (top === undefined) continue;
      top.commas += 1;
      values += 1;
      const limit = top.isArray ? JSON_BODY_LIMITS.arrayItems : JSON_BODY_LIMITS.objectKeys;
      if (top.commas + 1 > limit) {
        const what = top.isArray ? 'items' : 'keys';
        return { field: pathOf(containers, containers.length - 1), reason: `has more than ${limit} ${what}` };
      }
      if (values > JSON_BODY_LIMITS.values) {
        return { field: 'body', reason: `holds more than ${JSON_BODY_LIMITS.values} JSON values` };
      }
      top.expectKey = !top.isArray;
    }
  }
  return null;
}

/**
 * Checks every string, number and key of a parsed body (U+0000, lone surrogates, ±Infinity, `__proto__`), without
 * recursion; checkJsonShape has bounded its depth and size. With the `objects` checkJsonShape
 * measured in `text`, also that no object lost a key given twice. Returns the problems, each
 * naming its field.
 */
export function checkJsonText(body: unknown, objects?: JsonObjects, text?: string): FieldError[] {
  const errors: FieldError[] = [];
  const stack: [unknown, string][] = [[body, '']];
  // The walk meets objects in the order they open in the text (children are pushed last first),
  // until it skips a subtree (a refused key): from then on the counts are not compared.
  let ordinal = 0;
  while (stack.length > 0 && errors.length < MAX_BODY_ERRORS) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      const reason = invalidTextReason(value);
      if (reason !== null) errors.push({ field: path === '' ? 'body' : path, reason });
    } else if (typeof value === 'number' && !Number.isFinite(value)) {
      // `1e309` is valid JSON, read as Infinity; JSON has no Infinity, so inside JSON a body
      // carries opaque (trainingConfig, effectiveConfig) it was stored as null in silence: the
      // study created, its runners handed null for the number the user wrote (finding 58).
      errors.push({ field: path === '' ? 'body' : path, reason: NON_FINITE_NUMBER_REASON });
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index -= 1) stack.push([value[index], itemField(path, index)]);
    } else if (typeof value === 'object' && value !== null) {
      const keys = Object.keys(value);
      if (objects !== undefined && text !== undefined && errors.length === 0) {
        if (keys.length !== objects.members[ordinal]) {
          // JSON.parse keeps the last of a key given twice; a proxy, a log pipeline or another
          // language's parser in front may keep the first (RFC 8259 §4 leaves it open), so what
          // was checked there and what is stored here could differ. One rule: refused (finding 42).
          const key = duplicateKeyAt(text, objects.starts[ordinal]);
          errors.push({
            field: key === null ? path || 'body' : childField(path, key),
            reason: 'is given twice in one object',
          });
          break;
        }
        ordinal += 1;
      }
      for (let index = keys.length - 1; index >= 0; index -= 1) {
        const key = keys[index];
        const field = childField(path, key);
        const reason = isReservedKey(key) ? RESERVED_KEY_REASON : invalidTextReason(key);
        if (reason !== null) errors.push({ field, reason: `(a key) ${reason}` });
        else stack.push([(value as Record<string, unknown>)[key], field]);
      }
    }
  }
  return errors;
}

/** Parses a JSON request body: `{}` when empty, a 400 naming the field when malformed, too large in shape or not text. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  const objects: JsonObjects = { members: [], starts: [] };
  const shapeError = checkJsonShape(text, objects);
  if (shapeError !== null) throw new ValidationFailedError([shapeError]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DomainError('VALIDATION_FAILED', 'request body is not valid JSON');
  }
  const errors = checkJsonText(value, objects, text);
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return value;
}

/**
 * A JSON body not read yet: what Fastify's content-type parser hands on (installJsonBodyParser).
 * JsonBodyInterceptor reads it once the request is admitted; anything that meets one before that
 * sees an object with no fields, never the client's data.
 */
export class UnreadJsonBody {
  /** Set when JsonBodyInterceptor starts reading it. */
  taken = false;

  constructor(readonly stream: Readable) {}
}

/**
 * The offset of the first byte of `bytes` that does not start or continue a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or -1.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index];
    if (lead < 0x80) {
      index += 1;
      continue;
    }
    const continuations =
      lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (continuations === 0) return index;
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and past U+10FFFF (F4).
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    if (index + continuations >= bytes.length || bytes[index + 1] < low || bytes[index + 1] > high) return index;
    for (let next = 2; next <= continuations; next += 1) {
      if ((bytes[index + next] & 0xc0) !== 0x80) return index;
    }
    index += continuations + 1;
  }
  return -1;
}

/**
 * The body's bytes as text. JSON is UTF-8 (RFC 8259 §8.1); bytes that are not were read as U+FFFD,
 * so a study named `café` sent in latin1 was stored as `caf\uFFFD` with a 201 and the client never
 * learnt its text was lost (docs/reliability.md, finding 65): a 400 naming the body and the byte.
 */
function utf8Text(bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    const where = at < 0 ? '' : ` (byte ${at}: 0x${bytes[at].toString(16).padStart(2, '0')})`;
    throw new ValidationFailedError([{ field: 'body', reason: `is not valid UTF-8${where}; send JSON in UTF-8` }]);
  }
  return bytes.toString('utf8');
}

/**
 * The charset a media type names when it is not UTF-8 (`application/json; charset=latin1`), or
 * null. The API reads every body as UTF-8 (utf8Text); a body labelled otherwise is in an encoding
 * it does not read, whatever its bytes happen to be (finding 65).
 */
export function foreignCharset(contentType: string): string | null {
  for (const parameter of contentType.split(';').slice(1)) {
    const equals = parameter.indexOf('=');
    if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue;
    const value = parameter
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/s, '$1');
    if (!['utf-8', 'utf8'].includes(value.toLowerCase())) return value.slice(0, 100);
  }
  return null;
}

/**
 * Reads a request's body as UTF-8 text (utf8Text: bytes that are not UTF-8 are a 400), up to
 * `limit` bytes: past it, 413 and the rest is left to drain.
 */
export function readBodyText(stream: Readable, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const stop = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        // Left flowing with no listener, the rest is discarded as it arrives (and the answer closes
        // the connection: JsonBodyInterceptor); nothing more is kept.
        stop();
        chunks.length = 0;
        reject(new DomainError('PAYLOAD_TOO_LARGE', 'request body is too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      try {
        resolve(utf8Text(Buffer.concat(chunks, length)));
      } catch (error) {
        reject(error);
      }
    };
    const onError = (error: Error): void => {
      stop();
      reject(error);
    };
    const onClose = (): void => {
      stop();
      reject(new DomainError('VALIDATION_FAILED', 'request body ended before its Content-Length'));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/**
 * A coding the request's headers say its body is in, which the API would not undo: any content
 * coding but `identity` (none is decoded: gzip, br, deflate…), and any transfer coding but
 * `chunked` (Node's parser undoes chunked alone, and hands on `gzip, chunked` still gzipped).
 * Such a body was read as if it were not coded, so plain JSON under a gzip label was stored, and
 * whatever in front applies the label (a proxy or filter that gunzips to inspect, and passes on
 * what it cannot decode) saw other bytes than the API stored (docs/reliability.md, finding 43).
 */
function unappliedCoding(headers: FastifyRequest['headers']): { header: string; value: string } | null {
  const content = headers['content-encoding'];
  if (content !== undefined && !codingsAre(content, ['identity'])) {
    return { header: 'Content-Encoding', value: String(content) };
  }
  const transfer = headers['transfer-encoding'];
  if (transfer !== undefined && !codingsAre(transfer, ['chunked'])) {
    return { header: 'Transfer-Encoding', value: String(transfer) };
  }
  return null;
}

/** Whether every coding of a header's list is one of `allowed` (case-insensitive; an empty list is none). */
function codingsAre(value: string | string[], allowed: readonly string[]): boolean {
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .every((coding) => coding === '' || allowed.includes(coding));
}

/**
 * Replaces Fastify's JSON parser (which refuses an empty body) and its text/plain one: the API
 * speaks JSON only. The parser does not read the body: Fastify runs it before Nest's guard and
 * interceptors, so a body read there was buffered (up to MAX_BODY_BYTES) and parsed (up to about
 * 0.15 s of event loop) for a caller without a key, past its budget or its requests in flight,
 * before its 401/403/429 (docs/reliability.md, finding 34). It hands the stream on;
 * JsonBodyInterceptor, after the AuthGuard and the in-flight bound (in-flight.interceptor.ts),
 * reads and parses it. A body announced larger than the limit is still refused at once, unread.
 */
export function installJsonBodyParser(app: NestFastifyApplication): void {
  const instance = app.getHttpAdapter().getInstance();
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser(
    // application/json or application/…+json, with or without parameters (charset=utf-8).
    /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i,
    (request: FastifyRequest, payload: Readable, done: (error: Error | null, value?: unknown) => void) => {
      const announced = Number(request.headers['content-length'] ?? 0);
      if (announced > MAX_BODY_BYTES) {
        done(new DomainError('PAYLOAD_TOO_LARGE', 'request body is too large'));
        return;
      }
      const charset = foreignCharset(String(request.headers['content-type']));
      if (charset !== null) {
        done(
          new DomainError(
            'UNSUPPORTED_MEDIA_TYPE',
            `Content-Type: charset=${charset} is not an encoding the API reads; send JSON in UTF-8 (charset=utf-8, or none)`,
            { header: 'Content-Type' },
          ),
        );
        return;
      }
      const coding = unappliedCoding(request.headers);
      if (coding !== null) {
        done(
          new DomainError(
            'UNSUPPORTED_MEDIA_TYPE',
            `${coding.header}: ${coding.value.slice(0, 100)} is not a coding the API decodes; send the JSON as it is ` +
              `(${coding.header === 'Content-Encoding' ? 'no Content-Encoding, or identity' : 'chunked alone, or a Content-Length'})`,
            { header: coding.header },
          ),
        );
        return;
      }
      done(null, new UnreadJsonBody(payload));
    },
  );
  // An answer to a request whose body has not all arrived and will not be read (refused before
  // admission: 401, 403, 429, 404…; or before any parser: 415, 413) closes the connection, rather
  // than keeping it by reading and dropping the rest of a body that may be announced at any size
  // (docs/reliability.md, finding 34).
  instance.addHook('onSend', (request, reply, payload, done) => {
    const body = request.body;
    if (!request.raw.complete && !(body instanceof UnreadJsonBody && body.taken)) {
      void reply.header('Connection', 'close');
    }
    done(null, payload);
  });
  // After the global interceptors registered as providers (APP_INTERCEPTOR, read when the app is
  // created: the in-flight bound), so a body is read only by a request that holds its place; and
  // after the query keys' check (configureApp), so a request refused for its query string is not read.
  app.useGlobalInterceptors(new JsonBodyInterceptor());
}

/** The test Node's HTTP server applies to `Expect` before it hands a request to `checkContinue`. */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

function expectsContinue(headers: FastifyRequest['headers']): boolean {
  const expect = headers.expect;
  return typeof expect === 'string' && CONTINUE_EXPECTATION.test(expect);
}

/**
 * What a body to an operation that reads none carries: each field of an object, or the body when
 * it is not an object; none for no body or `{}`. The validation pipe refuses unknown fields only
 * where a route declares a body DTO, so `POST /v1/studies/{id}/stop` with `{"deleteTrials": true}`
 * was answered 200 as if the field were not there, which a caller reads as "taken into account"
 * (docs/reliability.md, finding 66; finding 37 is the same for query keys). Only on the API's own
 * routes (`/v1/…`), as the query keys' check.
 */
function unreadBodyErrors(body: unknown): FieldError[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ field: 'body', reason: 'must be empty or {}: this operation takes no body' }];
  }
  return Object.keys(body)
    .slice(0, MAX_BODY_ERRORS)
    .map((key) => ({ field: childField('', key), reason: 'is not a field of this operation (it takes no body)' }));
}

/** Reads and parses a request's JSON body (UnreadJsonBody) into `request.body`, before the pipes validate it. */
export class JsonBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (!(request.body instanceof UnreadJsonBody)) return next.handle();
    const reply = http.getResponse<FastifyReply>();
    request.body.taken = true;
    // The client waits for this before it sends a body it announced with `Expect: 100-continue`
    // (configureApp leaves it unsaid until the request is admitted: finding 67).
    if (expectsContinue(request.headers) && !reply.raw.headersSent) reply.raw.writeContinue();
    return from(
      readBodyText(request.body.stream).catch((error: unknown) => {
        // The rest of an oversized body is not worth reading to keep the connection.
        if (error instanceof DomainError && error.code === 'PAYLOAD_TOO_LARGE')
          void reply.header('Connection', 'close');
        throw error;
      }),
    ).pipe(
      switchMap((text) => {
        const body = parseJsonBody(text);
        if (request.url.startsWith('/v1/') && !declaresRouteParam(context, RouteParamtypes.BODY)) {
          const errors = unreadBodyErrors(body);
          if (errors.length > 0) throw new ValidationFailedError(errors);
        }
        request.body = body;
        return next.handle();
      }),
    );
  }
}
