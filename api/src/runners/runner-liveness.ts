/**
 * A runner is live when it was heard from (registration, runner heartbeat, lease) within this
 * long, or holds a lease now (a runner training a long trial heartbeats the trial only). An idle
 * runner asks for a lease or heartbeats every 30 s at most (python-runner `idle_heartbeat_seconds`).
 * The one definition: the API's capacity checks (runners/runner-health.ts) and the dashboard's
 * "online" (dashboard/web/src/pages/runners.ts) both read it.
 */
export const RUNNER_LIVE_WITHIN_MS = 2 * 60_000;
