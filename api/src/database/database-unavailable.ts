/**
 * Whether an error means "the database cannot be reached now" rather than "this statement is
 * wrong": the server is down, restarting, refusing connections or out of connection slots. The
 * API answers those with 503 and Retry-After (a client may simply try again), never with a 500.
 */

/** SQLSTATE classes and codes of unavailability (PostgreSQL, Appendix A "Error codes"). */
const UNAVAILABLE_SQLSTATE_CLASS = '08'; // connection exception
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
]);
const UNAVAILABLE_SYSTEM_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);
/** node-postgres reports a lost or timed-out connection with these messages and no code. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'the database system is',
];

function matches(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code.length === 5 && (code.startsWith(UNAVAILABLE_SQLSTATE_CLASS) || UNAVAILABLE_SQLSTATES.has(code))) {
      return true;
    }
    if (UNAVAILABLE_SYSTEM_ERRORS.has(code)) return true;
  }
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((text) => message.includes(text));
}

export function isDatabaseUnavailable(error: unknown): boolean {
  // TypeORM wraps the driver's error (QueryFailedError.driverError); others chain it as `cause`.
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (matches(current)) return true;
    const next = current as { driverError?: unknown; cause?: unknown };
    current = next.driverError ?? next.cause;
  }
  return false;
}
