/**
 * Connections each API process opens to PostgreSQL at most (node-postgres pool `max`). The bounds
 * on a project's requests in flight are sized from it (config/app-config.ts, inFlightLimits).
 */
export const DATABASE_POOL_SIZE = 40;
