/**
 * Typed errors of the suggestion algorithms. The API maps them once to HTTP statuses:
 * InvalidProblemError and InvalidOptionsError → 400, InvalidStateError → 500 (a stored state
 * that cannot be read is a server fault), InvalidResultError → 400.
 */
import type { VariableSpec } from './algorithm';

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

/**
 * Where in a ProblemSpec a problem is, as data: a caller that built the problem from its own
 * definition (api/src/search-space/search-space-parse.ts) names its own field from it, without
 * reading the path text back.
 */
export type ProblemLocation =
  | { part: 'problem' | 'maxEvaluations' | 'seed' }
  | { part: 'variables'; variable?: number; key?: keyof VariableSpec }
  | { part: 'outputTypes'; output?: number }
  | { part: 'x0'; point?: number; variable?: number };

/** The path text of a location, e.g. `variables[2].lowerBound` or `x0[0][1]`. */
export function problemPath(at: ProblemLocation): string {
  switch (at.part) {
    case 'variables':
      return `variables${at.variable === undefined ? '' : `[${at.variable}]`}${at.key === undefined ? '' : `.${at.key}`}`;
    case 'outputTypes':
      return `outputTypes${at.output === undefined ? '' : `[${at.output}]`}`;
    case 'x0':
      return `x0${at.point === undefined ? '' : `[${at.point}]`}${at.variable === undefined ? '' : `[${at.variable}]`}`;
    default:
      return at.part;
  }
}

/** The ProblemSpec is not a valid NOMAD problem (bounds, X0, outputs, …). */
export class InvalidProblemError extends AlgorithmError {
  readonly code = 'INVALID_PROBLEM' as const;

  constructor(
    readonly location: ProblemLocation,
    reason: string,
  ) {
    super(problemPath(location), reason);
  }
}

/** Unknown or ill-typed algorithm option. */
export class InvalidOptionsError extends AlgorithmError {
  readonly code = 'INVALID_OPTIONS' as const;

  constructor(
    /** The option at fault (`directionType`, `name` for the algorithm itself), or null for the options as a whole. */
    readonly option: string | null,
    reason: string,
    /** Where inside the option, e.g. `[2]` of a per-variable array; '' for the option itself. */
    readonly within: string = '',
  ) {
    super(option === null ? 'options' : `options.${option}${within}`, reason);
  }
}

/** A serialised state that this version cannot restore. */
export class InvalidStateError extends AlgorithmError {
  readonly code = 'INVALID_STATE' as const;
}

/** A told result or an ask argument that does not fit the problem. */
export class InvalidResultError extends AlgorithmError {
  readonly code = 'INVALID_RESULT' as const;
}

/**
 * An algorithm error as plain data, to cross a thread (the engine host, api/src/engine/): its
 * location or option travel with it, so the caller names the user's field as it would here.
 */
export type AlgorithmErrorData =
  | { code: 'INVALID_PROBLEM'; location: ProblemLocation; reason: string }
  | { code: 'INVALID_OPTIONS'; option: string | null; within: string; reason: string }
  | { code: 'INVALID_STATE' | 'INVALID_RESULT'; path: string; reason: string };

export function algorithmErrorData(error: AlgorithmError): AlgorithmErrorData {
  if (error instanceof InvalidProblemError) return { code: error.code, location: error.location, reason: error.reason };
  if (error instanceof InvalidOptionsError) {
    return { code: error.code, option: error.option, within: error.within, reason: error.reason };
  }
  return { code: error.code as 'INVALID_STATE' | 'INVALID_RESULT', path: error.path, reason: error.reason };
}

/** The error `algorithmErrorData` was made from, with its class. */
export function rebuildAlgorithmError(data: AlgorithmErrorData): AlgorithmError {
  switch (data.code) {
    case 'INVALID_PROBLEM':
      return new InvalidProblemError(data.location, data.reason);
    case 'INVALID_OPTIONS':
      return new InvalidOptionsError(data.option, data.reason, data.within);
    case 'INVALID_STATE':
      return new InvalidStateError(data.path, data.reason);
    case 'INVALID_RESULT':
      return new InvalidResultError(data.path, data.reason);
  }
}
