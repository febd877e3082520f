/**
 * Typed errors of the suggestion algorithms. The API maps them once to HTTP statuses:
 * InvalidProblemError and InvalidOptionsError → 400, InvalidStateError → 500 (a stored state
 * that cannot be read is a server fault), InvalidResultError → 400.
 */

export type AlgorithmErrorCode = 'INVALID_PROBLEM' | 'INVALID_OPTIONS' | 'INVALID_STATE' | 'INVALID_RESULT';

export abstract class AlgorithmError extends Error {
  abstract readonly code: AlgorithmErrorCode;

  constructor(
    /** Where the problem is, e.g. `variables[2].lowerBound` or `options.directionType`. */
    readonly path: string,
    /** Human-readable reason, without the path. */
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = new.target.name;
  }
}

/** The ProblemSpec is not a valid NOMAD problem (bounds, X0, outputs, …). */
export class InvalidProblemError extends AlgorithmError {
  readonly code = 'INVALID_PROBLEM' as const;
}

/** Unknown or ill-typed algorithm option. */
export class InvalidOptionsError extends AlgorithmError {
  readonly code = 'INVALID_OPTIONS' as const;
}

/** A serialised state that this version cannot restore. */
export class InvalidStateError extends AlgorithmError {
  readonly code = 'INVALID_STATE' as const;
}

/** A told result or an ask argument that does not fit the problem. */
export class InvalidResultError extends AlgorithmError {
  readonly code = 'INVALID_RESULT' as const;
}
