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

export class ValidationFailedError extends DomainError {
  constructor(readonly fieldErrors: FieldError[]) {
    super(
      'VALIDATION_FAILED',
      fieldErrors.length === 1
        ? `${fieldErrors[0].field}: ${fieldErrors[0].reason}`
        : `${fieldErrors.length} fields are invalid`,
      fieldErrors,
    );
  }
}

export function notFound(code: ErrorCode, what: string, id: string): DomainError {
  return new DomainError(code, `${what} ${id} does not exist`);
}
