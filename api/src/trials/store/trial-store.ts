import type { DataSource, EntityManager } from 'typeorm';
import { In, LessThan } from 'typeorm';
import type { Suggestion } from '../../optimizer-contract/algorithm';
import { cutByBytes, PAGE_BYTES, withinPageBytes } from '../../database/page-bytes';
import { preparedQuery } from '../../database/prepared-query';
import { RELAXED_COMMIT } from '../../database/relaxed-commit';
import { healRunnerStatement } from '../../runners/heal-runner-statement';
import { RUNNER_MAY_LEASE } from '../../runners/runner-meets-study';
import type { LeaseResponseDto } from '../../runners/dto/lease.dto';
import { type EngineMapping, pointKey } from '../../search-space/engine-mapping';
import type { UserPoint } from '../../search-space/search-space';
import type { Study } from '../../studies/study.entity';
import { toTrialResponse } from '../trial-response.mapper';
import { TrialLease, type LeaseOutcome } from '../trial-lease.entity';
import { TrialMetric } from '../trial-metric.entity';
import { type EarlyStopRecord, type TrialAdapter, type TrialStatus, UNTOLD_RESULT } from '../trial-status';
import { Trial } from '../trial.entity';
import { trialFromRow, type TrialRow } from './trial-row';
import { transition } from './trial-transitions';

/**
 * The trial store: every statement on `trials`, `trial_leases` and `trial_metrics` is here, and
 * nowhere else (.dependency-cruiser.cjs and test/boundaries/module-boundaries.spec.ts check it);
 * the runner store (runners/runner-store.ts) asks about a runner's leases through the SQL
 * conditions in "Runners" below.
 * One function per transition of the state machine (docs/architecture.md, "Trial states"), each
 * checked against the one table of allowed transitions (trial-transitions.ts), then the reads.
 *
 * `db` is the caller's transaction (an EntityManager from `inTransaction`) when the statement must
 * commit with others, or the DataSource for a statement on its own. Hot paths are prepared
 * statements (database/prepared-query.ts): planned once per connection.
 */
export type Db = DataSource | EntityManager;

const LEASE_PENDING = transition('pending', 'running');
const LEASE_NEW = transition('new', 'running');
const ENQUEUE = transition('new', 'pending');
const HEARTBEAT = transition('running', 'running');
const FINISH_COMPLETED = transition('running', 'completed');
const FINISH_FAILED = transition('running', 'failed');
const STOP_PENDING = transition('pending', 'stopped');
const STOP_EARLY = transition('running', 'stopped');
const PAUSE = transition('running', 'paused');
const RESUME = transition('paused', 'pending');
const PAUSED_END = transition('paused', 'stopped');

// ---------------------------------------------------------------------------------------------
// Runner capacity: what a runner must have to lease a trial (a study's requirements:
// runners/runner-meets-study.ts).
// ---------------------------------------------------------------------------------------------

/** SQL: a runner with `gpuMemoryMb` per GPU may take trial `t` (it has not run out of memory on as much). */
function TRIAL_FITS(t: string, gpuMemoryMb: string): string {
  return `(${t}.min_gpu_memory_mb IS NULL OR ${t}.min_gpu_memory_mb <= ${gpuMemoryMb})`;
}

/**
 * SQL: runner `runnerId` may lease pending trial `t` as far as a resume goes. A resumed trial
 * (resumePaused) keeps the runner that paused it, which holds its checkpoint (on its own disk when
 * `checkpointDir` is not shared) and is still saving it while its stopped child ends: only that
 * runner takes it, until the study's lease time has passed since the resume; then any runner does
 * (from a shared checkpoint, or from step 0). Not while that runner could never take it: it is
 * gone (runner_id is then null), quarantined, or has declined the study (any decline row: the
 * runner said it cannot run it, and a new registration clears its rows) — the trial would only wait
 * out the lease time for nothing.
 */
function RESUMABLE_BY(t: string, runnerId: string, now: string): string {
  return `(${t}.runner_id IS NULL OR ${t}.runner_id = ${runnerId}
           OR ${t}.updated_at < ${now}::timestamptz - make_interval(secs => (SELECT s.lease_seconds FROM studies s WHERE s.id = ${t}.study_id))
           OR NOT EXISTS (SELECT 1 FROM runners h WHERE h.id = ${t}.runner_id AND h.quarantined_at IS NULL)
           OR EXISTS (SELECT 1 FROM runner_study_declines d WHERE d.runner_id = ${t}.runner_id AND d.study_id = ${t}.study_id))`;
}

// ---------------------------------------------------------------------------------------------
// GPU-seconds: what a runner may claim, and the study's running total (docs/algorithm.md,
// "Budgets: evaluations and GPU-hours"; docs/reliability.md, finding 47).
// ---------------------------------------------------------------------------------------------

/**
 * The slack on a runner's GPU-seconds claim: an attempt may report at most its runner's registered
 * GPUs × (seconds its lease was held × FACTOR + SECONDS; BOUNDED_GPU_SECONDS). The runner counts from its training
 * child's start, after the lease, so an honest figure is below GPUs × elapsed; the slack only
 * absorbs clock and rounding differences. A runner that registered no GPUs counts as one.
 */
export const GPU_SECONDS_SLACK = { factor: 1.1, seconds: 60 } as const;

/**
 * SQL: the GPU-seconds `reported` for the latest attempt runner `runnerId` leased of trial
 * `trialId`, bounded by that runner's GPUs × the time that lease was held (GPU_SECONDS_SLACK);
 * null when `reported` is null. A claim past the bound is cut to it, not refused: the result it
 * comes with is still stored (a paid-for result is never lost), and a broken or hostile runner
 * cannot spend a study's GPU-hour budget with one figure. Without a lease of that runner: 0.
 *
 * The time held runs from the lease's start to now while the lease is open, and to at most one
 * lease period (the study's `leaseSeconds`) past its end once it ended: the reports accepted after
 * the end — a stopped trial's last word (TrialReportsService `rejectHeartbeat`) and a late result
 * of an expired lease nobody took since — were run under that lease, and a runner that went a
 * whole lease period without a word from the API has lost it. Counted to now, such a report's
 * bound grew with the wall clock for ever: a day after a 15 ms lease, a 1,024-GPU runner's claim
 * was 27,050 GPU-hours (docs/reliability.md, finding 52).
 */
function BOUNDED_GPU_SECONDS(trialId: string, runnerId: string, now: string, reported: string): string {
  const held = `(CASE WHEN gl.ended_at IS NULL THEN ${now}::timestamptz
                      ELSE LEAST(${now}::timestamptz, gl.ended_at + make_interval(secs => (
                             SELECT gs.lease_seconds FROM trials gt JOIN studies gs ON gs.id = gt.study_id
                              WHERE gt.id = gl.trial_id))) END)`;
  return `(CASE WHEN ${reported}::float8 IS NULL THEN NULL ELSE LEAST(${reported}::float8, COALESCE((
             SELECT GREATEST(COALESCE(gr.gpus, 1), 1)
                    * (GREATEST(EXTRACT(EPOCH FROM (${held} - gl.leased_at))::float8, 0) * ${GPU_SECONDS_SLACK.factor}
                       + ${GPU_SECONDS_SLACK.seconds})
               FROM trial_leases gl LEFT JOIN runners gr ON gr.id = gl.runner_id
              WHERE gl.trial_id = ${trialId} AND gl.runner_id = ${runnerId}
              ORDER BY gl.attempt DESC LIMIT 1), 0)) END)`;
}

/** `BOUNDED_GPU_SECONDS` for callers that write the trial through its entity (requeue, finishLocked). */
async function boundGpuSeconds(
  tx: EntityManager,
  trialId: string,
  runnerId: string | null,
  reported: number,
  now: Date,
): Promise<number> {
  if (runnerId === null) return 0;
  const [row] = (await tx.query(`SELECT ${BOUNDED_GPU_SECONDS('$1::uuid', '$2::uuid', '$3', '$4')} AS bounded`, [
    trialId,
    runnerId,
    now,
    reported,
  ])) as { bounded: number }[];
  return row.bounded;
}

/**
 * SQL: study `s` has GPU-hours left (or no GPU-hour budget). The total is study_gpu_usage's row,
 * kept by a trigger on trials.gpu_seconds (migrations/1796336700000-GpuHourBudget.ts): one
 * lookup by key, however many trials the study has.
 */
export function GPU_BUDGET_LEFT(s: string): string {
  return `(${s}.max_gpu_hours IS NULL
           OR COALESCE((SELECT u.gpu_seconds FROM study_gpu_usage u WHERE u.study_id = ${s}.id), 0) < ${s}.max_gpu_hours * 3600)`;
}

/** The study's GPU-seconds used: every trial's latest reported figure, summed (running trials included). */
export async function gpuSecondsUsed(db: Db, studyId: string): Promise<number> {
  const [row] = await preparedQuery<{ gpu_seconds: number }>(
    db,
    { name: 'study-gpu-seconds-used', text: 'SELECT gpu_seconds FROM study_gpu_usage WHERE study_id = $1' },
    [studyId],
  );
  return row === undefined ? 0 : Number(row.gpu_seconds);
}

/** Trials of the study running, or finished with a result not told yet: what a spent GPU budget waits for. */
export async function countRunningOrUntold(db: Db, studyId: string): Promise<number> {
  const [{ count }] = (await db.query(
    `SELECT COUNT(*)::int AS count FROM trials WHERE study_id = $1 AND (status = 'running' OR (${UNTOLD_RESULT}))`,
    [studyId],
  )) as { count: number }[];
  return count;
}

// ---------------------------------------------------------------------------------------------
// Leases: a grant writes the trial and its lease row at once.
// ---------------------------------------------------------------------------------------------

type GrantedRow = TrialRow & {
  study_lease_seconds: number;
  study_training_config: Record<string, unknown>;
  study_outputs: Study['outputs'];
};

function leaseResponse(row: GrantedRow): LeaseResponseDto {
  const trial = trialFromRow(row);
  return {
    trial: toTrialResponse(trial),
    trainingConfig: row.study_training_config,
    outputs: row.study_outputs,
    leaseExpiresAt: trial.leaseExpiresAt!.toISOString(),
    leaseSeconds: row.study_lease_seconds,
  };
}

/**
 * pending → running. The oldest pending trial of the study, when the study is active and has room
 * for one more running trial, leased to the runner with FOR UPDATE SKIP LOCKED (no two runners
 * ever get the same one), its lease row written and the runner marked seen, in one statement.
 * Only trials whose `min_gpu_memory_mb` (set when they ran out of GPU memory) the runner's GPUs
 * meet. None once the study's GPU-hour budget is spent (GPU_BUDGET_LEFT). Null when there is none.
 * (A lease naming no study picks the study first: `studiesWithRoom`.)
 */
export async function leasePending(db: Db, runnerId: string, studyId: string): Promise<LeaseResponseDto | null> {
  const now = new Date();
  // The study's room is checked once, then its oldest pending trial is taken through ix_trials_study_pending.
  const candidate = `SELECT t.id FROM trials t
          WHERE t.study_id = $3 AND t.status = '${LEASE_PENDING.from}'
            AND ${TRIAL_FITS('t', '(SELECT r.gpu_memory_mb FROM runners r WHERE r.id = $1)')}
            AND ${RESUMABLE_BY('t', '$1', '$2')}
            AND EXISTS (SELECT 1 FROM studies s
                         WHERE s.id = $3 AND s.status = 'active' AND ${GPU_BUDGET_LEFT('s')}
                           AND (SELECT COUNT(*) FROM trials r WHERE r.study_id = $3 AND r.status = 'running') < s.max_parallel_trials)
          ORDER BY t.created_at, t.number
          LIMIT 1
          FOR UPDATE OF t SKIP LOCKED`;
  const rows = (await preparedQuery(
    db,
    {
      name: 'take-pending-trial-v2',
      text: `WITH seen AS (
       UPDATE runners SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2::timestamptz - interval '1 second'
     ), candidate AS (${candidate}
     ), granted AS (
       UPDATE trials t
          SET status = '${LEASE_PENDING.to}', runner_id = $1, updated_at = $2,
              lease_expires_at = $2::timestamptz + make_interval(secs => s.lease_seconds),
              started_at = COALESCE(t.started_at, $2), last_heartbeat_at = NULL, progress = NULL,
              -- A runner reports its own attempt's GPU-seconds: keep what the earlier ones used.
              gpu_seconds_earlier_attempts = COALESCE(t.gpu_seconds, t.gpu_seconds_earlier_attempts)
         FROM candidate c, studies s
        WHERE t.id = c.id AND s.id = t.study_id
       RETURNING t.*, s.lease_seconds AS study_lease_seconds, s.training_config AS study_training_config,
                 s.outputs AS study_outputs
     ), recorded AS (
       INSERT INTO trial_leases (trial_id, attempt, runner_id, leased_at) SELECT id, attempt, $1, $2 FROM granted
     )
     SELECT granted.* FROM ${RELAXED_COMMIT} LEFT JOIN granted ON true`,
    },
    [runnerId, now, studyId],
  )) as (GrantedRow | { id: null })[];
  const [row] = rows;
  return row.id === null ? null : leaseResponse(row);
}

/** What a grant of new trials needs of the study (locked by the caller, active). */
export type GrantingStudy = Pick<Study, 'id' | 'nextTrialNumber' | 'leaseSeconds' | 'trainingConfig' | 'outputs'>;

/**
 * new → running. New trials for the engine's suggestions, numbered on from the study's next
 * number and leased at once to `runnerIds` (the i-th fresh point to the i-th runner), with their
 * lease rows, in one statement. A point that is already a trial of the study (an enqueued one: its
 * result will answer the engine) is left out, so the last runners may get nothing. Returns the
 * leases in runner order; the caller advances the study's next trial number by their count.
 */
export async function insertLeased(
  db: Db,
  study: GrantingStudy,
  suggestions: readonly Suggestion[],
  runnerIds: readonly string[],
  mapping: EngineMapping,
): Promise<LeaseResponseDto[]> {
  const now = new Date();
  const points = suggestions.map((suggestion) => ({
    origin: suggestion.origin,
    point: suggestion.x,
    point_key: pointKey(suggestion.x),
    parameters: mapping.toUser(suggestion.x),
  }));
  const rows = (await db.query(
    `WITH input AS (
       SELECT item->>'origin' AS origin, item->'point' AS point, item->>'point_key' AS point_key,
              item->'parameters' AS parameters, position
         FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(item, position)
     ), fresh AS (
       SELECT DISTINCT ON (point_key) * FROM input
        WHERE NOT EXISTS (SELECT 1 FROM trials t WHERE t.study_id = $1 AND t.point_key = input.point_key)
        ORDER BY point_key, position
     ), numbered AS (
       SELECT fresh.*, (row_number() OVER (ORDER BY position))::int AS rank FROM fresh
     ), granted AS (
       INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt,
                           runner_id, lease_expires_at, started_at, updated_at)
       SELECT $1, $3 + rank - 1, '${LEASE_NEW.to}', origin, point, point_key, parameters, 1,
              ($4::uuid[])[rank], $5::timestamptz + make_interval(secs => $6), $5, $5
         FROM numbered WHERE rank <= cardinality($4::uuid[])
       RETURNING *
     ), recorded AS (
       INSERT INTO trial_leases (trial_id, attempt, runner_id, leased_at) SELECT id, 1, runner_id, $5 FROM granted
     ), seen AS (
       UPDATE runners SET last_seen_at = $5 WHERE id IN (SELECT runner_id FROM granted)
     )
     SELECT granted.*, $6::int AS study_lease_seconds, $7::jsonb AS study_training_config,
            $8::jsonb AS study_outputs
       FROM granted ORDER BY number`,
    [
      study.id,
      JSON.stringify(points),
      study.nextTrialNumber,
      runnerIds,
      now,
      study.leaseSeconds,
      JSON.stringify(study.trainingConfig),
      JSON.stringify(study.outputs),
    ],
  )) as GrantedRow[];
  return rows.map(leaseResponse);
}

/**
 * Active studies with room (running below `maxParallelTrials`, and a pending trial or budget
 * left), the fairest first: fewest running trials relative to `maxParallelTrials`, then fewest
 * running, then the oldest. `exclude`: studies already tried by this lease; a study `runnerId`
 * declined less than `declineExpiresAfterMs` ago is not one (runners/runner-study-decline.entity.ts).
 */
export async function studiesWithRoom(
  db: Db,
  exclude: readonly string[],
  limit: number,
  runner: { projectId: string; labels: readonly string[]; gpus: number; gpuMemoryMb: number | null },
  runnerId: string,
  declineExpiresAfterMs: number,
): Promise<string[]> {
  const rows = await preparedQuery<{ id: string }>(
    db,
    {
      name: 'lease-fair-studies-v3',
      text: `SELECT s.id FROM studies s
             CROSS JOIN LATERAL (
               SELECT COUNT(*) FILTER (WHERE t.status = 'running')::int AS running,
                      -- Pending trials this runner may take (not those waiting for more GPU memory).
                      COUNT(*) FILTER (WHERE t.status = 'pending' AND ${TRIAL_FITS('t', '$6::int')})::int AS pending
                 FROM trials t WHERE t.study_id = s.id AND t.status IN ('running', 'pending')
             ) c
             WHERE s.status = 'active' AND NOT (s.id = ANY($1::uuid[]))
               -- Tenancy: only the runner's project, and only studies whose requirements it meets and
               -- that it did not say it cannot run (its folders, its kind), for a while.
               AND s.project_id = $3
               AND ${RUNNER_MAY_LEASE('s', { labels: '$4::jsonb', gpus: '$5::int', gpuMemoryMb: '$6::int', id: '$7::uuid' }, '$8::int')}
               AND c.running < s.max_parallel_trials
               -- A spent GPU budget leases nothing; with nothing running the study is still picked once, to end it.
               AND (c.running = 0 OR ${GPU_BUDGET_LEFT('s')})
               -- Paused trials may be resumed (EngineService.resumeIfDue) even once the budget is told.
               AND (c.pending > 0 OR s.evaluation_count + c.running < s.max_evaluations
                    OR EXISTS (SELECT 1 FROM trials p WHERE p.study_id = s.id AND p.status = 'paused'))
             ORDER BY c.running::float8 / s.max_parallel_trials, c.running, s.created_at, s.id
             LIMIT $2`,
    },
    [
      [...exclude],
      limit,
      runner.projectId,
      JSON.stringify(runner.labels),
      runner.gpus,
      runner.gpuMemoryMb,
      runnerId,
      Math.trunc(declineExpiresAfterMs),
    ],
  );
  return rows.map((row) => row.id);
}

// ---------------------------------------------------------------------------------------------
// Reports of the runner holding the lease.
// ---------------------------------------------------------------------------------------------

/** The trial and study columns are null when the runner does not hold the lease. */
export interface HeartbeatRow {
  lease_expires_at: Date | null;
  status: Study['status'] | null;
  recorded: number;
  study_id: string | null;
  attempt: number | null;
  number: number | null;
  origin: Trial['origin'] | null;
  /** The study's engine_version and evaluation_count (early stopping refreshes its memo on them). */
  engine_version: number | null;
  evaluation_count: number | null;
  /** The study's early-stopping policy kind (`none` skips the decision). */
  policy_kind: string | null;
  /** Times the trial was resumed after a pause (its next early stop is final). */
  resumes: number | null;
}

/**
 * running → running: the lease extended, progress and metrics stored, in one statement, when the
 * runner holds the lease (`lease_expires_at` null otherwise). At most `maxPoints` points over
 * `maxNames` names per trial: new points beyond are dropped (`recorded` counts those kept);
 * re-sending a stored point still overwrites it. `status` is the study's.
 */
export async function heartbeat(
  db: Db,
  trialId: string,
  runnerId: string,
  now: Date,
  progress: number | null,
  metrics: readonly { name: string; step: number; value: number }[],
  maxPoints: number,
  maxNames: number,
  gpuSeconds: number | null = null,
): Promise<HeartbeatRow> {
  // The run length the curve is measured against: the last step of this heartbeat over its progress.
  // Computed here, not in SQL: a legal progress as small as 5e-324 overflows the division, which
  // PostgreSQL answers with an error (a 500 until 2026-12-04); such a length is simply unknown.
  const lastStep = metrics.length === 0 ? null : Math.max(...metrics.map((metric) => metric.step));
  const runLength = lastStep !== null && lastStep > 0 && progress !== null && progress > 0 ? lastStep / progress : null;
  const totalSteps = runLength !== null && Number.isFinite(runLength) ? runLength : null;
  const [row] = await preparedQuery<HeartbeatRow>(
    db,
    {
      name: 'trial-heartbeat',
      text: `WITH beat AS (
         UPDATE trials t
            SET lease_expires_at = $3::timestamptz + make_interval(secs => s.lease_seconds),
                last_heartbeat_at = $3, progress = COALESCE($4, t.progress), updated_at = $3,
                gpu_seconds = COALESCE(t.gpu_seconds_earlier_attempts + ${BOUNDED_GPU_SECONDS('t.id', '$2', '$3', '$8')}, t.gpu_seconds),
                total_steps = COALESCE($9::float8, t.total_steps)
           FROM studies s
          WHERE t.id = $1 AND t.status = '${HEARTBEAT.from}' AND t.runner_id = $2 AND s.id = t.study_id
         RETURNING t.id, t.lease_expires_at, s.status, t.study_id, t.attempt, t.number, t.origin,
                   s.engine_version, s.evaluation_count, s.early_stopping->>'kind' AS policy_kind, t.resumes
       ), incoming AS (
         SELECT m.name, m.step, m.value,
                EXISTS (SELECT 1 FROM trial_metrics x
                         WHERE x.trial_id = $1 AND x.name = m.name AND x.step = m.step) AS stored,
                EXISTS (SELECT 1 FROM trial_metrics x WHERE x.trial_id = $1 AND x.name = m.name) AS known_name
           FROM jsonb_to_recordset($5::jsonb) AS m(name text, step integer, value double precision)
       ), ranked AS (
         SELECT incoming.*,
                row_number() OVER (PARTITION BY stored ORDER BY name, step) AS new_point,
                dense_rank() OVER (PARTITION BY known_name ORDER BY name) AS new_name
           FROM incoming
       ), held AS (
         SELECT COUNT(*) AS points, COUNT(DISTINCT name) AS names FROM trial_metrics
          WHERE trial_id = $1 AND EXISTS (SELECT 1 FROM incoming)
       ), recorded AS (
         INSERT INTO trial_metrics (trial_id, name, step, value)
         SELECT beat.id, r.name, r.step, r.value
           FROM beat, ranked r, held
          WHERE r.stored OR (held.points + r.new_point <= $6 AND (r.known_name OR held.names + r.new_name <= $7))
         ON CONFLICT (trial_id, name, step) DO UPDATE SET value = EXCLUDED.value
         RETURNING 1
       )
       SELECT beat.lease_expires_at, beat.status, beat.study_id, beat.attempt, beat.number, beat.origin,
              beat.engine_version, beat.evaluation_count, beat.policy_kind, beat.resumes,
              (SELECT COUNT(*)::int FROM recorded) AS recorded
         FROM ${RELAXED_COMMIT} LEFT JOIN beat ON true`,
    },
    [trialId, runnerId, now, progress, JSON.stringify(metrics), maxPoints, maxNames, gpuSeconds, totalSteps],
  );
  return row;
}

/**
 * A runner's report: the outputs of a completed evaluation (with what it was measured with and
 * where its adapter lies, when the runner said), or the error of a failed one.
 */
export type Report =
  | {
      kind: 'complete';
      outputs: Record<string, number>;
      effectiveConfig?: Record<string, unknown> | null;
      adapter?: TrialAdapter | null;
    }
  | { kind: 'fail'; error: string };

/** A jsonb parameter: node-postgres would send a JS object as text of its own making, and arrays as arrays. */
function jsonOrNull(value: object | null | undefined): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/**
 * running → completed / failed in one statement, with only the trial row locked, when the runner
 * holds the lease and the outputs are exactly the study's (every OBJ/PB/EB output, no unknown
 * name): the lease row ended, the runner healed by a completion. Null otherwise; the caller then
 * works out the answer with the trial row locked (`lockTrial`, `finishLocked`).
 */
export async function finishHeld(
  db: Db,
  trialId: string,
  runnerId: string,
  report: Report,
  hash: string,
  gpuSeconds: number | null = null,
): Promise<Trial | null> {
  const outputs = report.kind === 'complete' ? report.outputs : null;
  const rows = (await preparedQuery(
    db,
    {
      name: 'trial-finish-held',
      text: `WITH target AS (
         SELECT t.id, t.attempt FROM trials t JOIN studies s ON s.id = t.study_id
          WHERE t.id = $1 AND t.status = '${FINISH_COMPLETED.from}' AND t.runner_id = $2
            AND ($5::jsonb IS NULL OR (
              NOT EXISTS (SELECT 1 FROM jsonb_object_keys($5::jsonb) AS k(name)
                           WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(s.outputs) AS o(spec)
                                              WHERE o.spec->>'name' = k.name))
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(s.outputs) AS o(spec)
                               WHERE o.spec->>'type' <> 'extra' AND NOT ($5::jsonb ? (o.spec->>'name')))))
          FOR UPDATE OF t
       ), ended AS (
         UPDATE trial_leases l SET ended_at = $3, outcome = $4
           FROM target WHERE l.trial_id = target.id AND l.attempt = target.attempt
       ), finished AS (
         UPDATE trials t
            SET status = $4, outputs = $5::jsonb, error = $6, report_hash = $7, finished_at = $3,
                lease_expires_at = NULL, updated_at = $3,
                gpu_seconds = COALESCE(t.gpu_seconds_earlier_attempts + ${BOUNDED_GPU_SECONDS('t.id', '$2', '$3', '$8')}, t.gpu_seconds),
                effective_config = COALESCE($9::jsonb, t.effective_config), adapter = COALESCE($10::jsonb, t.adapter)
           FROM target WHERE t.id = target.id
         RETURNING t.*
       ), healed AS (
         ${healRunnerStatement('$2')} AND $4 = 'completed' AND EXISTS (SELECT 1 FROM finished)
       )
       SELECT * FROM finished`,
    },
    [
      trialId,
      runnerId,
      new Date(),
      report.kind === 'complete' ? FINISH_COMPLETED.to : FINISH_FAILED.to,
      outputs === null ? null : JSON.stringify(outputs),
      report.kind === 'fail' ? report.error : null,
      hash,
      gpuSeconds,
      jsonOrNull(report.kind === 'complete' ? report.effectiveConfig : null),
      jsonOrNull(report.kind === 'complete' ? report.adapter : null),
    ],
  )) as TrialRow[];
  return rows.length === 0 ? null : trialFromRow(rows[0]);
}

/**
 * running (or pending, a late result nobody took) → completed / failed, on a trial locked by the
 * caller (`lockTrial`): the lease of the attempt ended when still running, the result stored
 * (`trial` is updated to match, its `minGpuMemoryMb` as the caller set it) and, for a completion,
 * the runner healed.
 */
export async function finishLocked(
  tx: EntityManager,
  trial: Trial,
  runnerId: string,
  report: Report,
  hash: string,
  gpuSeconds: number | null = null,
): Promise<void> {
  const to = report.kind === 'complete' ? 'completed' : 'failed';
  transition(trial.status, to);
  const now = new Date();
  if (trial.status === 'running') await endLease(tx, trial, to, now);
  trial.status = to;
  trial.outputs = report.kind === 'complete' ? report.outputs : null;
  trial.error = report.kind === 'fail' ? report.error : null;
  trial.reportHash = hash;
  trial.finishedAt = now;
  trial.leaseExpiresAt = null;
  trial.runnerId = runnerId;
  trial.gpuSeconds =
    gpuSeconds === null
      ? trial.gpuSeconds
      : trial.gpuSecondsEarlierAttempts + (await boundGpuSeconds(tx, trial.id, runnerId, gpuSeconds, now));
  if (report.kind === 'complete') {
    trial.effectiveConfig = report.effectiveConfig ?? trial.effectiveConfig;
    trial.adapter = report.adapter ?? trial.adapter;
  }
  await tx.query(
    `UPDATE trials SET status = $2, outputs = $3, error = $4, report_hash = $5, finished_at = $6,
            lease_expires_at = NULL, runner_id = $7, updated_at = $6, gpu_seconds = $8,
            effective_config = $9::jsonb, adapter = $10::jsonb, min_gpu_memory_mb = $11
      WHERE id = $1`,
    [
      trial.id,
      trial.status,
      trial.outputs,
      trial.error,
      hash,
      now,
      trial.runnerId,
      trial.gpuSeconds,
      jsonOrNull(trial.effectiveConfig),
      jsonOrNull(trial.adapter),
      trial.minGpuMemoryMb,
    ],
  );
  if (report.kind === 'complete') await tx.query(healRunnerStatement('$1'), [runnerId]);
  trial.updatedAt = now;
}

// ---------------------------------------------------------------------------------------------
// Leases that end without a result: running → pending (attempt + 1), or stopped when the study is over.
// ---------------------------------------------------------------------------------------------

export interface Requeue {
  /** How the lease ended (trial_leases.outcome). */
  leaseOutcome: Extract<
    LeaseOutcome,
    'released' | 'failed' | 'expired' | 'runner_failed' | 'quarantined' | 'resource_failed'
  >;
  /** The study has ended (studies/study-status.ts, isFinishedStudy): the trial is stopped instead. */
  studyOver: boolean;
  now?: Date;
  /** The error the runner reported, kept on the trial. */
  error?: string;
  /** A runner failure: counted on the trial (`runnerFailures`). */
  runnerFailure?: boolean;
  /** GPU-seconds the runner reported for the attempt (kept on the trial, the latest). */
  gpuSeconds?: number | null;
  /** Out of GPU memory: from now on only runners with at least this much memory per GPU lease it. */
  minGpuMemoryMb?: number;
}

/**
 * running → pending (attempt + 1) for another lease, or → stopped when the study has ended, on a
 * trial locked by the caller: the lease row ended with its outcome, the trial saved (`trial` is
 * updated to match).
 */
export async function requeue(tx: EntityManager, trial: Trial, how: Requeue): Promise<void> {
  const now = how.now ?? new Date();
  const gpuSeconds =
    how.gpuSeconds === undefined || how.gpuSeconds === null
      ? how.gpuSeconds
      : await boundGpuSeconds(tx, trial.id, trial.runnerId, how.gpuSeconds, now);
  await endLease(tx, trial, how.leaseOutcome, now);
  backToQueue(trial, { ...how, gpuSeconds }, now);
  await tx.getRepository(Trial).save(trial);
}

function backToQueue(trial: Trial, how: Requeue, now: Date): void {
  trial.status = transition(trial.status, how.studyOver ? 'stopped' : 'pending').to;
  trial.attempt += 1;
  trial.runnerId = null;
  trial.leaseExpiresAt = null;
  trial.progress = null;
  if (how.studyOver) trial.finishedAt = now;
  if (how.error !== undefined) trial.error = how.error;
  if (how.runnerFailure === true) trial.runnerFailures += 1;
  if (how.gpuSeconds !== undefined && how.gpuSeconds !== null) {
    trial.gpuSeconds = trial.gpuSecondsEarlierAttempts + how.gpuSeconds; // this attempt's figure on top
  }
  if (how.minGpuMemoryMb !== undefined) trial.minGpuMemoryMb = how.minGpuMemoryMb;
}

/**
 * A retryable failure (a transient fault of this run): requeued (lease outcome `failed`) while
 * the trial has attempts left, counting this one; false when none is left (the caller stores it
 * as a failed evaluation).
 */
export async function requeueRetryable(
  tx: EntityManager,
  trial: Trial,
  error: string,
  maxAttempts: number,
  studyOver: boolean,
  gpuSeconds: number | null = null,
): Promise<boolean> {
  const lost = await lostLeaseCount(tx, trial.id);
  if (lost + 1 >= maxAttempts) return false;
  await requeue(tx, trial, { leaseOutcome: 'failed', studyOver, error, gpuSeconds });
  return true;
}

/**
 * An expired lease (lease outcome `expired`): running → pending (attempt + 1) while attempts
 * remain, else running → failed (a failed evaluation the engine is told); stopped when the study
 * is over. The trial is locked by the caller.
 */
export async function expire(
  tx: EntityManager,
  trial: Trial,
  maxAttempts: number,
  studyOver: boolean,
  now: Date,
): Promise<void> {
  await endLease(tx, trial, 'expired', now);
  const lost = await lostLeaseCount(tx, trial.id);
  if (lost >= maxAttempts) {
    trial.status = transition(trial.status, 'failed').to;
    trial.error = `lease expired ${lost} time(s) without a result (max attempts ${maxAttempts})`;
    trial.finishedAt = now;
    trial.leaseExpiresAt = null;
  } else {
    backToQueue(trial, { leaseOutcome: 'expired', studyOver }, now);
  }
  await tx.getRepository(Trial).save(trial);
}

/**
 * pending → stopped and paused → stopped: every pending or paused trial of a study that has ended.
 * The one place this is written. A paused trial keeps its stop reason `early_stopped` (it was told
 * as an unsuccessful evaluation, and stays one).
 */
export async function stopPending(tx: EntityManager, studyId: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE trials SET status = '${STOP_PENDING.to}', finished_at = COALESCE(finished_at, $2), updated_at = $2
      WHERE study_id = $1 AND status IN ('${STOP_PENDING.from}', '${PAUSED_END.from}')`,
    [studyId, now],
  );
}

/** The lease an early stop ends: the runner that holds it and its attempt, as the heartbeat saw them. */
export interface EarlyStop {
  trialId: string;
  runnerId: string;
  attempt: number;
  decision: EarlyStopRecord;
  now: Date;
  /** A pause (the policy's `resume` is on and the trial was never resumed): `paused`, not `stopped`. */
  pause?: boolean;
  /** A pause's rank for the resume choice (`resumeScore`, stored as `resume_score`); null otherwise. */
  resumeScore?: number | null;
}

/**
 * running → stopped (early_stopped), in one statement: a trial still running under the same lease
 * becomes terminal `stopped` with stop reason `early_stopped` and the decision (last value,
 * extrapolation, bound, threshold) stored; its lease ends (`early_stopped`); it is left untold
 * (UNTOLD_RESULT), a result like a completed or failed trial, and EngineService tells it to the
 * engine as an unsuccessful evaluation counted in the budget (docs/algorithm.md, "Early
 * stopping"). Null when the lease is no longer the one the decision was taken on (a report or an
 * expiry came first): nothing is written. `pause`: running → paused instead, the same otherwise (a
 * paused trial is told as the same unsuccessful evaluation; it may be resumed later).
 */
export async function stopEarly(db: Db, stop: EarlyStop): Promise<Trial | null> {
  const rows = await preparedQuery<TrialRow>(
    db,
    {
      name: 'trial-stop-early',
      text: `WITH target AS (
         SELECT id, attempt FROM trials
          WHERE id = $1 AND status = '${STOP_EARLY.from}' AND runner_id = $2 AND attempt = $3
          FOR UPDATE
       ), ended AS (
         UPDATE trial_leases l SET ended_at = $4, outcome = 'early_stopped'
           FROM target WHERE l.trial_id = target.id AND l.attempt = target.attempt
       )
       UPDATE trials t
          SET status = $6, stop_reason = 'early_stopped', early_stop = $5::jsonb, resume_score = $7, told = false,
              outputs = NULL, error = NULL, finished_at = $4, lease_expires_at = NULL, updated_at = $4
         FROM target WHERE t.id = target.id
       RETURNING t.*`,
    },
    [
      stop.trialId,
      stop.runnerId,
      stop.attempt,
      stop.now,
      JSON.stringify(stop.decision),
      stop.pause === true ? PAUSE.to : STOP_EARLY.to,
      stop.pause === true ? (stop.resumeScore ?? null) : null,
    ],
  );
  return rows.length === 0 ? null : trialFromRow(rows[0]);
}

/**
 * paused → pending: the trial is resumed (docs/algorithm.md, "Early stopping: pause and resume"):
 * leasable again as a new attempt, first by the runner that paused it (it keeps `runner_id`:
 * RESUMABLE_BY), which resumes it from the trial's kept checkpoint; its
 * result will be told again (told false, stop reason cleared) as a resumed result, not a new
 * evaluation. The pause's decision stays in `early_stop` for inspection. False when it was not
 * paused any more, or its pause is not told yet.
 */
export async function resumePaused(tx: EntityManager, trialId: string, now: Date): Promise<boolean> {
  const rows = (await tx.query(
    `UPDATE trials SET status = '${RESUME.to}', attempt = attempt + 1, resumes = resumes + 1, told = false,
            stop_reason = NULL, resume_score = NULL, lease_expires_at = NULL, finished_at = NULL, progress = NULL,
            updated_at = $2
      WHERE id = $1 AND status = '${RESUME.from}' AND told
     RETURNING id`,
    [trialId, now],
  )) as unknown[];
  return rows.length > 0;
}

/**
 * What a resume chooses from (engine/study-resume.ts): of the study's paused trials told to the
 * engine, the one with the lowest stored `resume_score` (ties: the oldest pause), and every paused
 * trial without a score (paused before scores were stored, migration ResumeScores: the caller
 * scores them from their curves; no pause is stored without one since, so they only become fewer),
 * each with its curve of `metric` thinned to `maxPoints` as thinCurve thins it (`thinnedCurveJson`)
 * and its run length; oldest pause first. Trials without a curve are left
 * out (the choice never resumes them; they end with the study). Once every paused trial has its
 * score this is one row, found through ix_trials_study_paused, whatever the study paused
 * (docs/reliability.md, finding 48). A pause committed after the caller's telling statement is left
 * for the next resume: resumed before being told, the engine would never hear of its pause, and
 * would take its later result as a new evaluation.
 */
export async function resumeCandidates(
  db: Db,
  studyId: string,
  metric: string,
  maxPoints: number,
): Promise<
  { id: string; total_steps: number | null; resume_score: number | null; points: [number, number][] | null }[]
> {
  const paused = `t.study_id = $1 AND t.status = '${RESUME.from}' AND t.told`;
  return (await db.query(
    `WITH lowest AS (
       SELECT t.id FROM trials t WHERE ${paused} AND t.resume_score IS NOT NULL
        ORDER BY t.resume_score, t.finished_at, t.number LIMIT 1
     )
     SELECT c.id, c.total_steps, c.resume_score, c.points
       FROM (SELECT t.id, t.total_steps, t.resume_score, t.finished_at, t.number,
                    ${thinnedCurveJson('SELECT m.step, m.value FROM trial_metrics m WHERE m.trial_id = t.id AND m.name = $2', '$3::int')} AS points
               FROM trials t
              WHERE ${paused} AND (t.resume_score IS NULL OR t.id IN (SELECT id FROM lowest))) c
      WHERE c.points IS NOT NULL
      ORDER BY c.finished_at, c.number`,
    [studyId, metric, maxPoints],
  )) as { id: string; total_steps: number | null; resume_score: number | null; points: [number, number][] | null }[];
}

/**
 * A curve's points as a JSON array of `[step, value]` in step order, thinned in the database
 * exactly as early-stopping/stored-curve.ts `thinCurve` thins it (at most `max` points, evenly
 * spaced by index, the first and the last included), so that a curve of 10,000 stored points
 * crosses the wire and the event loop's JSON parser as `max`. `points` is a query of one curve's
 * (step, value) rows; `max` an SQL integer ≥ 2. Point i of n is kept when n ≤ max or it is
 * thinCurve's pick j = round(i·(max−1)/(n−1)) (the only j that can pick it: picks are more than one
 * index apart), i.e. round(j·(n−1)/(max−1)) = i; round(a/b) is (2a + b) / 2b in integer division,
 * exact where thinCurve's floating-point division is (a tie falls on a representable half).
 * The test compares the two over lengths 1–3,000 and a sample to 10,000 (trial-curves.e2e.spec.ts).
 */
export function thinnedCurveJson(points: string, max: string): string {
  return `(SELECT json_agg(json_build_array(k.step, k.value) ORDER BY k.step)
             FROM (SELECT p.step, p.value, row_number() OVER (ORDER BY p.step) - 1 AS i, count(*) OVER () AS n
                     FROM (${points}) p) k
            WHERE k.n <= ${max}
               OR (2 * ((2 * k.i * (${max} - 1) + k.n - 1) / (2 * (k.n - 1))) * (k.n - 1) + ${max} - 1)
                  / (2 * (${max} - 1)) = k.i)`;
}

/**
 * Trials of the study paused, or resumed and not settled — pending, running, or finished with a
 * result the engine has not been told yet: a study with resume on waits for them. The last part
 * matters at the end of a study: a resumed trial's report may commit while another request's
 * flush, which read the untold results before it, is about to end the study; counted here, the
 * study stays open until that report's own flush tells the result (else the engine never hears it).
 */
export async function countResuming(db: Db, studyId: string, includePaused = true): Promise<number> {
  const [{ count }] = (await db.query(
    `SELECT COUNT(*)::int AS count FROM trials
      WHERE study_id = $1
        AND ((status = '${RESUME.from}' AND $2) OR (resumes > 0 AND (status IN ('pending', 'running') OR (${UNTOLD_RESULT}))))`,
    [studyId, includePaused],
  )) as { count: number }[];
  return count;
}

/**
 * Trials of the study taken up again so far (resumed after a pause, or revived after a stop kept
 * `paused` by `revive`), whatever took them up: with the engine's restart count, the restart credit
 * of `takeUpReason` (early-stopping/pause-and-resume.ts), read from stored rows so that it replays.
 */
export async function countTakenUp(db: Db, studyId: string): Promise<number> {
  const [{ count }] = (await db.query(`SELECT COUNT(*)::int AS count FROM trials WHERE study_id = $1 AND resumes > 0`, [
    studyId,
  ])) as { count: number }[];
  return count;
}

/** The GPU-seconds a runner reports for a trial it had, stopped early: its last word on what the run used. */
export async function recordStoppedGpuSeconds(tx: EntityManager, trialId: string, gpuSeconds: number): Promise<void> {
  await tx.query(
    `UPDATE trials SET gpu_seconds = gpu_seconds_earlier_attempts + ${BOUNDED_GPU_SECONDS('trials.id', 'trials.runner_id', '$3', '$2')}
      WHERE id = $1 AND stop_reason = 'early_stopped'`,
    [trialId, gpuSeconds, new Date()],
  );
}

/** A trial's points of one metric, in step order (an early-stopping curve), and its run length. */
export async function curveOf(
  db: Db,
  trialId: string,
  metric: string,
): Promise<{ total_steps: number | null; points: [number, number][] | null } | null> {
  const [row] = await preparedQuery<{ total_steps: number | null; points: [number, number][] | null }>(
    db,
    {
      name: 'trial-early-stop-curve',
      text: `SELECT t.total_steps,
                    (SELECT json_agg(json_build_array(m.step, m.value) ORDER BY m.step)
                       FROM trial_metrics m WHERE m.trial_id = t.id AND m.name = $2) AS points
               FROM trials t WHERE t.id = $1`,
    },
    [trialId, metric],
  );
  return row ?? null;
}

/**
 * The curves that calibrate early stopping: a study's trials told after evaluation `after` that
 * completed (with the engine's f as their final value) and, when `withStopped`, those stopped early
 * (`objective` null: their curve ends at the stop), the latest `limit` of each kind (newest first).
 */
export async function calibrationCurves(
  db: Db,
  studyId: string,
  metric: string,
  after: number,
  limit: number,
  withStopped: boolean,
): Promise<
  {
    evaluation_number: number;
    stopped: boolean;
    objective: number | null;
    total_steps: number | null;
    points: [number, number][] | null;
  }[]
> {
  return preparedQuery(
    db,
    {
      name: 'trial-early-stop-calibration',
      text: `SELECT c.evaluation_number, c.stopped, c.objective, c.total_steps,
                    (SELECT json_agg(json_build_array(m.step, m.value) ORDER BY m.step)
                       FROM trial_metrics m WHERE m.trial_id = c.id AND m.name = $2) AS points
               FROM (
                 (SELECT t.id, t.evaluation_number, false AS stopped, t.objective, t.total_steps
                    FROM trials t
                   WHERE t.study_id = $1 AND t.evaluation_number > $3 AND t.status = 'completed'
                     AND t.objective IS NOT NULL
                   ORDER BY t.evaluation_number DESC LIMIT $4)
                 UNION ALL
                 (SELECT t.id, t.evaluation_number, true AS stopped, NULL AS objective, t.total_steps
                    FROM trials t
                   WHERE $5 AND t.study_id = $1 AND t.evaluation_number > $3 AND t.stop_reason = 'early_stopped'
                   ORDER BY t.evaluation_number DESC LIMIT $4)
               ) c
              ORDER BY c.evaluation_number DESC`,
    },
    [studyId, metric, after, limit, withStopped],
  );
}

async function endLease(tx: EntityManager, trial: Trial, outcome: LeaseOutcome, now: Date): Promise<void> {
  await tx.getRepository(TrialLease).update({ trialId: trial.id, attempt: trial.attempt }, { endedAt: now, outcome });
}

/** Leases of a trial that ended without a result and used up an attempt (expired, or a retryable failure). */
async function lostLeaseCount(db: Db, trialId: string): Promise<number> {
  return db.getRepository(TrialLease).countBy([
    { trialId, outcome: 'expired' },
    { trialId, outcome: 'failed' },
  ]);
}

// ---------------------------------------------------------------------------------------------
// New trials without a lease.
// ---------------------------------------------------------------------------------------------

/** new → pending: a user's point, leased before any engine suggestion. */
export async function insertPending(
  tx: EntityManager,
  trial: { studyId: string; number: number; point: number[]; pointKey: string; parameters: UserPoint },
): Promise<Trial> {
  const trials = tx.getRepository(Trial);
  return trials.save(trials.create({ ...trial, status: ENQUEUE.to, origin: 'user', attempt: 1 }));
}

/** A finished evaluation written without a runner (imported, or unrunnable), as the bulk INSERT reads it. */
export interface ImportedTrial {
  number: number;
  /** `import` (the default) for a NOMAD cache file; the engine's origin for a point no runner can run. */
  origin?: string;
  status: 'completed' | 'failed';
  point: number[];
  point_key: string;
  parameters: Record<string, unknown>;
  outputs: Record<string, number> | null;
  error: string | null;
}

/** Rows per imported-trials INSERT. */
const INSERT_BATCH = 2_000;

/** new → completed / failed (untold): evaluations no runner ran (imported, unrunnable), by batched INSERTs. */
export async function insertFinished(
  tx: EntityManager,
  studyId: string,
  rows: readonly ImportedTrial[],
  now: Date,
): Promise<void> {
  for (const row of rows) transition('new', row.status);
  // One JSON parameter per batch: TypeORM's multi-row insert slows down with its parameter count
  // (10,000 rows took 7.6 s in batches of 1,000; this takes a fraction of a second).
  for (let start = 0; start < rows.length; start += INSERT_BATCH) {
    await tx.query(
      `INSERT INTO trials (study_id, number, status, origin, point, point_key, parameters, attempt, outputs, error,
                           started_at, finished_at)
       SELECT $1, row.number, row.status, coalesce(row.origin, 'import'), row.point, row.point_key, row.parameters,
              1, row.outputs, row.error, $2, $2
         FROM jsonb_to_recordset($3::jsonb) AS row(number integer, status varchar, origin varchar, point jsonb,
                                                  point_key text, parameters jsonb, outputs jsonb, error text)`,
      [studyId, now, JSON.stringify(rows.slice(start, start + INSERT_BATCH))],
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Telling the engine: finished results marked told, the engine's reading stored.
// ---------------------------------------------------------------------------------------------

export interface FinishedRow {
  id: string;
  /** `stopped` / `paused`: stopped early or paused (UNTOLD_RESULT), told as a failed evaluation. */
  status: 'completed' | 'failed' | 'stopped' | 'paused';
  point: number[];
  outputs: Record<string, number> | null;
  finished_at: Date;
  number: number;
  /** > 0: a resumed trial, told before as an unsuccessful evaluation; told again, not a new evaluation. */
  resumes: number;
  /** The early-stop decision of a `stopped` / `paused` trial (its `lowerBound` is told as `censoredBelow`); null otherwise. */
  early_stop: Trial['earlyStop'];
}

/** A study's trials that hold budget without being told yet. */
export interface TrialsInFlight {
  running: number;
  pending: number;
  /** Finished, stored, and not told yet (reports committed after the telling statement). */
  untold: number;
}

/**
 * Marks every finished, untold trial of a study (locked by the caller) told and returns them in
 * the order they finished, with the study's trials in flight counted in the same statement (so
 * each trial is counted once even while reports commit around it).
 */
export async function markFinishedTold(
  tx: EntityManager,
  studyId: string,
): Promise<{ finished: FinishedRow[]; inFlight: TrialsInFlight }> {
  const rows = (await preparedQuery(
    tx,
    {
      name: 'trials-tell-finished',
      text: `WITH told AS (
         UPDATE trials SET told = true
          WHERE study_id = $1 AND ${UNTOLD_RESULT}
         RETURNING id, status, point, outputs, finished_at, number, resumes, early_stop
       )
       SELECT told.*, counts.*
         FROM (SELECT (SELECT COUNT(*)::int FROM trials WHERE study_id = $1 AND status = 'running') AS running,
                      (SELECT COUNT(*)::int FROM trials WHERE study_id = $1 AND status = 'pending') AS pending,
                      (SELECT COUNT(*)::int FROM trials
                        WHERE study_id = $1 AND ${UNTOLD_RESULT}) AS untold) counts
         LEFT JOIN told ON true`,
    },
    [studyId],
  )) as (FinishedRow & TrialsInFlight)[];
  const finished = rows
    .filter((row) => row.id !== null)
    .sort((a, b) => a.finished_at.getTime() - b.finished_at.getTime() || a.number - b.number);
  // The counts saw the statement's starting point, where the trials told now were still untold.
  const inFlight = { running: rows[0].running, pending: rows[0].pending, untold: rows[0].untold - finished.length };
  return { finished, inFlight };
}

/** The engine's reading of told results: evaluation number (order told), f, h, feasible. */
export async function storeEvaluations(
  tx: EntityManager,
  ids: readonly string[],
  firstEvaluationNumber: number,
  objective: readonly (number | null)[],
  infeasibility: readonly (number | null)[],
  feasible: readonly (boolean | null)[],
): Promise<void> {
  await preparedQuery(
    tx,
    {
      name: 'trials-store-evaluations',
      text: `UPDATE trials t
          SET evaluation_number = e.n, objective = e.f, infeasibility = e.h, feasible = e.feasible
         FROM unnest($1::uuid[], $2::int[], $3::float8[], $4::float8[], $5::bool[]) AS e(id, n, f, h, feasible)
        WHERE t.id = e.id`,
    },
    [ids, ids.map((_id, index) => firstEvaluationNumber + index), objective, infeasibility, feasible],
  );
}

/**
 * The engine's reading of resumed trials' results (told again): f, h, feasible; their evaluation
 * number stays the one of their pause (the budget counted them then).
 */
export async function storeResumedEvaluations(
  tx: EntityManager,
  ids: readonly string[],
  objective: readonly (number | null)[],
  infeasibility: readonly (number | null)[],
  feasible: readonly (boolean | null)[],
): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE trials t SET objective = e.f, infeasibility = e.h, feasible = e.feasible
       FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::bool[]) AS e(id, f, h, feasible)
      WHERE t.id = e.id`,
    [ids, objective, infeasibility, feasible],
  );
}

/** Whether the study has a result stored and not told. */
export async function hasUntold(db: Db, studyId: string): Promise<boolean> {
  const [{ untold }] = (await preparedQuery(
    db,
    {
      name: 'trials-has-untold',
      text: `SELECT EXISTS (SELECT 1 FROM trials
                       WHERE study_id = $1 AND ${UNTOLD_RESULT}) AS untold`,
    },
    [studyId],
  )) as { untold: boolean }[];
  return untold;
}

/** Trials of the study still to be settled: pending, running, or finished and not told. */
export async function countUnsettled(db: Db, studyId: string): Promise<number> {
  const [{ count }] = (await db.query(
    `SELECT COUNT(*)::int AS count FROM trials WHERE study_id = $1
        AND (status IN ('pending', 'running') OR (${UNTOLD_RESULT}))`,
    [studyId],
  )) as { count: number }[];
  return count;
}

/** Studies with results stored before `before` and still not told (a process died in between). */
export async function studiesWithUntoldBefore(db: Db, before: Date): Promise<string[]> {
  const rows = (await db.query(
    `SELECT DISTINCT study_id FROM trials
        WHERE ${UNTOLD_RESULT} AND finished_at < $1`,
    [before],
  )) as { study_id: string }[];
  return rows.map((row) => row.study_id);
}

// ---------------------------------------------------------------------------------------------
// Reads.
// ---------------------------------------------------------------------------------------------

/** The trial row locked FOR UPDATE, or null. */
export async function lockTrial(tx: EntityManager, trialId: string): Promise<Trial | null> {
  return tx.getRepository(Trial).findOne({ where: { id: trialId }, lock: { mode: 'pessimistic_write' } });
}

/** The trial's study, or null when there is no such trial. */
export async function studyOfTrial(db: Db, trialId: string): Promise<string | null> {
  const located = await db
    .getRepository(Trial)
    .findOne({ select: { id: true, studyId: true }, where: { id: trialId } });
  return located?.studyId ?? null;
}

export async function findTrial(db: Db, trialId: string): Promise<Trial | null> {
  return db.getRepository(Trial).findOneBy({ id: trialId });
}

export async function findByPointKey(db: Db, studyId: string, key: string): Promise<Trial | null> {
  return db.getRepository(Trial).findOneBy({ studyId, pointKey: key });
}

/** Of `keys`, those already a trial of the study. */
export async function triedPointKeys(db: Db, studyId: string, keys: readonly string[]): Promise<Set<string>> {
  const rows = (await db.query(`SELECT point_key FROM trials WHERE study_id = $1 AND point_key = ANY($2::text[])`, [
    studyId,
    [...keys],
  ])) as { point_key: string }[];
  return new Set(rows.map((row) => row.point_key));
}

/** The runner's latest lease of the trial, or null when it never held one. */
export async function latestLeaseOf(db: Db, trialId: string, runnerId: string): Promise<TrialLease | null> {
  return db.getRepository(TrialLease).findOne({ where: { trialId, runnerId }, order: { attempt: 'DESC' } });
}

/** The trial's result as told (`feasible` is stored when the engine is told, after the report). */
export async function toldFeasibility(db: Db, trialId: string): Promise<boolean | null> {
  const [row] = await preparedQuery<{ feasible: boolean | null }>(
    db,
    { name: 'trial-told-reading', text: 'SELECT feasible FROM trials WHERE id = $1' },
    [trialId],
  );
  return row?.feasible ?? null;
}

/**
 * Trials of a study in number order, `offset` first, at most `limit` rows and PAGE_BYTES
 * (so possibly fewer than `limit` with more to come: the next page starts at offset + rows), and
 * the total.
 */
export async function listTrials(
  db: Db,
  studyId: string,
  status: TrialStatus | undefined,
  limit: number,
  offset: number,
): Promise<[Trial[], number]> {
  const where = status === undefined ? { studyId } : { studyId, status };
  const statusFilter = status === undefined ? '' : 'AND t.status = $5';
  const rows = (await db.query(
    withinPageBytes(
      `SELECT t.* FROM trials t WHERE t.study_id = $1 ${statusFilter} ORDER BY t.number LIMIT $2 OFFSET $3`,
      'number',
      '$4',
    ),
    status === undefined ? [studyId, limit, offset, PAGE_BYTES] : [studyId, limit, offset, PAGE_BYTES, status],
  )) as TrialRow[];
  return [rows.map(trialFromRow), await db.getRepository(Trial).count({ where })];
}

export async function metricsOf(
  db: Db,
  trialId: string,
  limit: number,
): Promise<{ name: string; step: number; value: number }[]> {
  const metrics = await db.getRepository(TrialMetric).find({
    select: { name: true, step: true, value: true },
    where: { trialId },
    order: { name: 'ASC', step: 'ASC' },
    take: limit,
  });
  return metrics.map(({ name, step, value }) => ({ name, step, value }));
}

/**
 * Trials per status of each study, with their GPU-seconds: used (each trial's latest report) and
 * saved, an estimate (StudyResponseDto.gpuHoursSaved): an early-stopped trial's own rate times
 * what was left of its run, used × (1 − p) / p.
 */
export async function countsByStatus(
  db: Db,
  studyIds: readonly string[],
): Promise<{ studyId: string; status: TrialStatus; count: number; gpuSeconds: number; gpuSecondsSaved: number }[]> {
  return db
    .getRepository(Trial)
    .createQueryBuilder('trial')
    .select('trial.study_id', 'studyId')
    .addSelect('trial.status', 'status')
    .addSelect('COUNT(*)::int', 'count')
    .addSelect('COALESCE(SUM(trial.gpu_seconds), 0)::float8', 'gpuSeconds')
    .addSelect(
      // Saved: the rest of the stopped attempt's run, at the rate that attempt used GPU-seconds.
      `COALESCE(SUM((trial.gpu_seconds - trial.gpu_seconds_earlier_attempts) * (1 - (trial.early_stop->>'progress')::float8) / (trial.early_stop->>'progress')::float8)
         FILTER (WHERE trial.stop_reason = 'early_stopped' AND (trial.early_stop->>'progress')::float8 > 0), 0)::float8`,
      'gpuSecondsSaved',
    )
    .where({ studyId: In([...studyIds]) })
    .groupBy('trial.study_id')
    .addGroupBy('trial.status')
    .getRawMany<{ studyId: string; status: TrialStatus; count: number; gpuSeconds: number; gpuSecondsSaved: number }>();
}

/** Trials pending and running over all studies (the metrics gauge). */
export async function countOpen(db: Db): Promise<{ status: string; count: number }[]> {
  return (await db.query(
    `SELECT status, COUNT(*)::int AS count FROM trials WHERE status IN ('pending', 'running') GROUP BY status`,
  )) as { status: string; count: number }[];
}

/** Running trials of these runners. */
export async function runningOf(
  db: Db,
  runnerIds: readonly string[],
): Promise<Pick<Trial, 'id' | 'studyId' | 'runnerId'>[]> {
  return db.getRepository(Trial).find({
    select: { id: true, studyId: true, runnerId: true },
    where: { runnerId: In([...runnerIds]), status: 'running' },
  });
}

/** Running trials whose lease expired before `now`, the oldest first. */
export async function expiredLeases(db: Db, now: Date, limit: number): Promise<Pick<Trial, 'id' | 'studyId'>[]> {
  return db.getRepository(Trial).find({
    select: { id: true, studyId: true },
    where: { status: 'running', leaseExpiresAt: LessThan(now) },
    order: { leaseExpiresAt: 'ASC' },
    take: limit,
  });
}

/** Of `trialIds`, those still running with their lease expired before `now`, locked, by number. */
export async function lockExpired(tx: EntityManager, trialIds: readonly string[], now: Date): Promise<Trial[]> {
  return tx.getRepository(Trial).find({
    where: { id: In([...trialIds]), status: 'running', leaseExpiresAt: LessThan(now) },
    order: { number: 'ASC' },
    lock: { mode: 'pessimistic_write' },
  });
}

/**
 * Whether another runner completed a trial, since `since`, of a study on which this runner
 * reported failed evaluations since then (runners/runner-health.ts: the failures are this machine's).
 */
export async function completedElsewhere(db: Db, runnerId: string, since: Date): Promise<boolean> {
  const [{ elsewhere }] = (await db.query(
    `SELECT EXISTS (
       SELECT 1 FROM trials t
        WHERE t.status = 'completed' AND t.runner_id <> $1 AND t.finished_at >= $2
          AND t.study_id IN (SELECT study_id FROM trials
                              WHERE runner_id = $1 AND status = 'failed' AND finished_at >= $2)
     ) AS elsewhere`,
    [runnerId, since],
  )) as { elsewhere: boolean }[];
  return elsewhere;
}

/**
 * The best evaluated trial by the engine's reading stored at tell time: feasible ones (h = 0) by
 * objective, else the least infeasible, then by objective; one row of ix_trials_best.
 */
export async function best(db: Db, studyId: string): Promise<Trial | null> {
  const rows = await preparedQuery<TrialRow>(
    db,
    {
      name: 'study-best-trial',
      text: `SELECT * FROM trials WHERE study_id = $1 AND infeasibility IS NOT NULL
                ORDER BY infeasibility, objective, number LIMIT 1`,
    },
    [studyId],
  );
  return rows.length === 0 ? null : trialFromRow(rows[0]);
}

/**
 * Finished trials in the order the engine was told them, after evaluation `after`: at most
 * `limit` rows and PAGE_BYTES; `cut` when the bytes ended the page before its rows did
 * (more follow).
 */
export async function historyAfter(
  db: Db,
  studyId: string,
  after: number,
  limit: number,
): Promise<{ trials: Trial[]; cut: boolean }> {
  const rows = await preparedQuery<TrialRow & { page_rows: string }>(
    db,
    {
      name: 'study-history-page',
      text: withinPageBytes(
        `SELECT * FROM trials WHERE study_id = $1 AND evaluation_number > $2 ORDER BY evaluation_number LIMIT $3`,
        'evaluation_number',
        '$4',
      ),
    },
    [studyId, after, limit, PAGE_BYTES],
  );
  return { trials: rows.map(trialFromRow), cut: cutByBytes(rows) };
}

// ---------------------------------------------------------------------------------------------
// Runners (runners/runner-store.ts): what the trial tables say of a runner, as SQL conditions that
// the runner store embeds in its statements on `runners` (it owns those, this store these tables).
// ---------------------------------------------------------------------------------------------

/** SQL: the number of leases runner `r` holds now (its running trials). */
export function LEASES_HELD_BY(r: string): string {
  return `(SELECT COUNT(*)::int FROM trials t WHERE t.runner_id = ${r}.id AND t.status = 'running')`;
}

/** SQL: runner `r` holds a lease now (a running trial). */
export function HOLDS_A_LEASE(r: string): string {
  return `EXISTS (SELECT 1 FROM trials t WHERE t.runner_id = ${r}.id AND t.status = 'running')`;
}

/**
 * Lease outcomes that a runner's own call ended (a report, a release, a heartbeat that was told to
 * stop): the runner was heard from then. Not `expired` (the sweeper), `stopped` (the study ended)
 * or `quarantined` (an operator or the health check), which say nothing of the runner.
 */
const HEARD_FROM_OUTCOMES = `('completed', 'failed', 'released', 'early_stopped', 'runner_failed', 'resource_failed')`;

/** SQL: runner `r` ended one of its leases by its own call (HEARD_FROM_OUTCOMES) at or after `since`. */
export function ENDED_A_LEASE_SINCE(r: string, since: string): string {
  return `EXISTS (SELECT 1 FROM trial_leases l
                   WHERE l.runner_id = ${r}.id AND l.ended_at >= ${since}
                     AND l.outcome IN ${HEARD_FROM_OUTCOMES})`;
}

// ---------------------------------------------------------------------------------------------
// Projects (projects/): the trial-table reads that tenancy needs.
// ---------------------------------------------------------------------------------------------

/** Trials running now over every study of the project (its quota on running trials counts these). */
export async function runningInProject(db: Db, projectId: string): Promise<number> {
  const [{ running }] = await preparedQuery<{ running: number }>(
    db,
    {
      name: 'project-running-trials',
      text: `SELECT COUNT(*)::int AS running FROM trials t JOIN studies s ON s.id = t.study_id
              WHERE s.project_id = $1 AND t.status = 'running'`,
    },
    [projectId],
  );
  return running;
}

/** The project of the trial's study; null when there is no such trial. */
export async function projectOfTrial(db: Db, trialId: string): Promise<string | null> {
  const [row] = await preparedQuery<{ project_id: string }>(
    db,
    {
      name: 'scope-trial',
      text: 'SELECT s.project_id FROM trials t JOIN studies s ON s.id = t.study_id WHERE t.id = $1',
    },
    [trialId],
  );
  return row?.project_id ?? null;
}
