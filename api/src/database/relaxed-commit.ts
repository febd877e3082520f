/**
 * A one-row FROM item that turns synchronous commit off for the transaction of the statement
 * it is in (`set_config(…, true)` is `SET LOCAL`). The statement's commit then returns before its
 * WAL reaches the disk; a database crash in the next few hundred milliseconds may lose it.
 *
 * Only for writes such a loss costs nothing but work: a heartbeat (the lease is extended again by
 * the next one) and a lease grant (the trial goes back to pending; the runner's next heartbeat gets
 * LEASE_LOST). Never for results: a complete or fail commits synchronously, and its commit also
 * makes every earlier relaxed commit durable, because the WAL is flushed in order.
 *
 * Use it as the outer side of a LEFT JOIN (`FROM ${RELAXED_COMMIT} LEFT JOIN x ON true`), which
 * PostgreSQL always reads, so the setting is applied even when the statement returns nothing.
 */
export const RELAXED_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed_commit`;
