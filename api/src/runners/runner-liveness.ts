/**
 * A runner is live when it was heard from (registration, runner heartbeat, lease) within this
 * long, or holds a lease now (a runner training a long trial heartbeats the trial only). An idle
 * runner asks for a lease or heartbeats every 30 s at most (python-runner `idle_heartbeat_seconds`).
 * The one definition: the API's capacity checks (runners/runner-health.ts) and the dashboard's
 * "online" (dashboard/web/src/pages/runners.ts) both read it.
 */
export const RUNNER_LIVE_WITHIN_MS = 2 * 60_000;

/**
 * A runner that holds no lease and was not heard from for this long (nor ended one of its leases by
 * a report or a release: trial-store `RECLAIMABLE`, finding 14 of docs/reliability.md) may be reclaimed — deleted
 * with its token — when its project reaches `maxRunners` and another registers
 * (runners/runners.service.ts): seven and a half times the liveness window, so a runner that is
 * merely slow to heartbeat, or restarting, is never taken. A reclaimed runner that comes back gets
 * 401 for its token and registers again (the Python runner does so by itself).
 */
export const RUNNER_RECLAIMABLE_AFTER_MS = 15 * 60_000;
