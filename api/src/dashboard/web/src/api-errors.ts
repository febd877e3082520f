/**
 * The dashboard's API errors and their wording for the banner. No DOM here, so that the wording is
 * tested under Node (test/dashboard/api-errors.spec.ts).
 */

/** An API answer other than 2xx, with the `{ statusCode, code, message }` body when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The key was refused (401) or lacks the scope (403): the user must sign in again. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** Raised on a network failure (API down, connection refused). */
export class NetworkError extends Error {}

/** Human text for any error, for the banner. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401)
      return `The API key was not accepted (401 ${error.code}: ${error.message}). Sign in with a valid key.`;
    if (error.status === 403)
      return `This API key may not read studies (403 ${error.code}: ${error.message}). Use a user or admin key.`;
    // Two different 429s: the project's request budget (RATE_LIMITED, whose message says when to
    // retry and which setting to raise), and failed sign-ins from this address.
    if (error.status === 429 && error.code === 'RATE_LIMITED')
      return `This project's request budget is spent for now (429 ${error.code}: ${error.message}).`;
    if (error.status === 429)
      return `Too many attempts (429 ${error.code}: ${error.message}). Wait a minute and try again.`;
    return `The API answered ${error.status} ${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
