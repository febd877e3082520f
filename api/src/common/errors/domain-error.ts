import type { ErrorCode } from './error-codes';

/** One problem with a request field: `field` is a dotted path such as `parameters[2].upper`. */
export interface FieldError {
  field: string;
  reason: string;
}

/** A failure the client can act on; the exception filter maps `code` to the HTTP status. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Sent as `Retry-After`: when asking again may succeed (e.g. a quarantined runner's lease). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Problems listed in one error body: enough to fix a request, never a body as large as the input that caused them. */
export const MAX_FIELD_ERRORS = 100;

export class ValidationFailedError extends DomainError {
  readonly fieldErrors: FieldError[];

  constructor(fieldErrors: FieldError[]) {
    const listed = fieldErrors.slice(0, MAX_FIELD_ERRORS);
    super(
      'VALIDATION_FAILED',
      fieldErrors.length === 1
        ? `${fieldErrors[0].field}: ${fieldErrors[0].reason}`
        : fieldErrors.length > listed.length
          ? `${fieldErrors.length} fields are invalid; details lists the first ${listed.length}`
          : `${fieldErrors.length} fields are invalid`,
      listed,
    );
    this.fieldErrors = listed;
  }
}

export function notFound(code: ErrorCode, what: string, id: string): DomainError {
  return new DomainError(code, `${what} ${id} does not exist`);
}
