import type { EntityManager } from 'typeorm';
import { preparedQuery } from '../database/prepared-query';
import { ENDED_A_LEASE_SINCE, HOLDS_A_LEASE, LEASES_HELD_BY, type Db } from '../trials/store/trial-store';
import { DECLINE_EXPIRES_AT, DECLINE_IN_FORCE, RUNNER_MAY_LEASE } from './runner-meets-study';

/**
 * The runner store: the fleet's statements on `runners` that depend on what the runners hold —
 * their slots in use, which of them may be reclaimed, whether a live one fits a study. What the
 * trial tables say of a runner (a lease held, a lease ended by its own call) is the trial store's,
 * embedded here as its SQL conditions (trials/store/trial-store.ts, "Runners").
 *
 * `db` is the caller's transaction when the statement must commit with others (the slot locks of
 * runner-slots.ts are transaction-scoped), or the DataSource for a statement on its own.
 */

/**
 * Each of these runners' slots (`max_concurrent_trials`) and open leases (running trials); a
 * runner that does not exist (reclaimed) is absent. The caller holds their slot locks
 * (runner-slots.ts), so the count is current until it commits.
 */
export async function slotsInUse(
  db: Db,
  runnerIds: readonly string[],
): Promise<Map<string, { slots: number; held: number }>> {
  const rows = await preparedQuery<{ id: string; slots: number; held: number }>(
    db,
    {
      name: 'runner-slots',
      text: `SELECT r.id, r.max_concurrent_trials AS slots, ${LEASES_HELD_BY('r')} AS held
               FROM runners r WHERE r.id = ANY($1::uuid[])`,
    },
    [runnerIds],
  );
  return new Map(rows.map((row) => [row.id, { slots: row.slots, held: row.held }]));
}

/**
 * SQL: runner `r` holds no lease and was not heard from since `$seenBefore`: neither seen
 * (`last_seen_at`: registration, runner heartbeat, lease) nor the runner that ended one of its
 * leases (a report or a release). A runner that trains one trial for longer than the reclamation
 * period heartbeats the trial only, so its `last_seen_at` is the lease's; without its reports it
 * was the first reclaimed the moment it reported (docs/reliability.md, finding 14).
 */
function RECLAIMABLE(r: string, seenBefore: string): string {
  return `${r}.last_seen_at < ${seenBefore}
          AND NOT ${HOLDS_A_LEASE(r)}
          AND NOT ${ENDED_A_LEASE_SINCE(r, seenBefore)}`;
}

/** Up to `limit` runners of the project that hold no lease and were last seen before `seenBefore`, the longest unseen first. */
export async function reclaimableRunners(
  db: Db,
  projectId: string,
  seenBefore: Date,
  limit: number,
): Promise<string[]> {
  const rows = (await db.query(
    `SELECT r.id FROM runners r WHERE r.project_id = $1 AND ${RECLAIMABLE('r', '$2')}
      ORDER BY r.last_seen_at, r.id LIMIT $3`,
    [projectId, seenBefore, limit],
  )) as { id: string }[];
  return rows.map((row) => row.id);
}

/**
 * Deletes those of `runnerIds` that still hold no lease and were last seen before `seenBefore`
 * (the caller holds their slot locks: no lease is granted to them meanwhile). Their tokens go with
 * them (api_keys.runner_id ON DELETE CASCADE); their finished trials keep their results and lose
 * the runner (trials.runner_id ON DELETE SET NULL; trial_leases keep its id). Returns those deleted.
 */
export async function deleteReclaimableRunners(
  db: EntityManager,
  runnerIds: readonly string[],
  seenBefore: Date,
): Promise<string[]> {
  const [rows] = (await db.query(
    `DELETE FROM runners r WHERE r.id = ANY($1::uuid[]) AND ${RECLAIMABLE('r', '$2')} RETURNING r.id`,
    [runnerIds, seenBefore],
  )) as [{ id: string }[], number];
  return rows.map((row) => row.id);
}

/**
 * Whether a runner of the study's project, not quarantined, live (heard from since `liveSince`,
 * or holding a lease now), that may lease the study (meets its requirements, has not declined it
 * within `declineExpiresAfterMs`: RUNNER_MAY_LEASE), has at least `minGpuMemoryMb` per GPU: the runner a trial that ran out of
 * memory may still fit on.
 */
export async function liveRunnerFits(
  db: Db,
  studyId: string,
  minGpuMemoryMb: number,
  liveSince: Date,
  declineExpiresAfterMs: number,
): Promise<boolean> {
  const [{ fits }] = (await db.query(
    `SELECT EXISTS (
       SELECT 1 FROM studies s JOIN runners r ON r.project_id = s.project_id
        WHERE s.id = $1 AND r.quarantined_at IS NULL AND r.gpu_memory_mb >= $2
          AND ${RUNNER_MAY_LEASE('s', { labels: 'r.labels', gpus: 'r.gpus', gpuMemoryMb: 'r.gpu_memory_mb', id: 'r.id' }, '$4::int')}
          AND (r.last_seen_at >= $3 OR ${HOLDS_A_LEASE('r')})
     ) AS fits`,
    [studyId, minGpuMemoryMb, liveSince, Math.trunc(declineExpiresAfterMs)],
  )) as { fits: boolean }[];
  return fits;
}

// ---------------------------------------------------------------------------------------------
// Declines: a runner that cannot run a study by its own settings (runner-study-decline.entity.ts).
// ---------------------------------------------------------------------------------------------

/**
 * Records (or renews) runner `runnerId`'s decline of `studyId`, in the caller's transaction, at
 * PostgreSQL's `now()`: the clock every read of it uses (runner-meets-study.ts, `DECLINE_IN_FORCE`).
 */
export async function recordDecline(db: Db, runnerId: string, studyId: string, reason: string): Promise<void> {
  await db.query(
    `INSERT INTO runner_study_declines (runner_id, study_id, reason, declined_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (runner_id, study_id) DO UPDATE SET reason = EXCLUDED.reason, declined_at = EXCLUDED.declined_at`,
    [runnerId, studyId, reason],
  );
}

/** Whether the runner declined the study, however long ago (a repeated decline gets the same answer). */
export async function hasDeclined(db: Db, runnerId: string, studyId: string): Promise<boolean> {
  const rows = (await db.query('SELECT 1 FROM runner_study_declines WHERE runner_id = $1 AND study_id = $2', [
    runnerId,
    studyId,
  ])) as unknown[];
  return rows.length > 0;
}

/** The runner's decline of the study still in force after `expiresAfterMs`, with when it expires, or null. */
export async function declineInForce(
  db: Db,
  runnerId: string,
  studyId: string,
  expiresAfterMs: number,
): Promise<{ reason: string; declinedAt: Date; expiresAt: Date } | null> {
  const rows = (await db.query(
    `SELECT d.reason, d.declined_at, ${DECLINE_EXPIRES_AT('d', '$3::int')} AS expires_at
       FROM runner_study_declines d
      WHERE d.runner_id = $1 AND d.study_id = $2 AND ${DECLINE_IN_FORCE('d', '$3::int')}`,
    [runnerId, studyId, Math.trunc(expiresAfterMs)],
  )) as { reason: string; declined_at: Date; expires_at: Date }[];
  return rows.length === 0
    ? null
    : { reason: rows[0].reason, declinedAt: rows[0].declined_at, expiresAt: rows[0].expires_at };
}

/**
 * A page of the study's declines in force after `expiresAfterMs`, the newest first, with the
 * declining runner's name and when each expires; `total`: all of them.
 */
export async function declinesOfStudy(
  db: Db,
  studyId: string,
  expiresAfterMs: number,
  limit: number,
  offset: number,
): Promise<{
  rows: { runner_id: string; runner_name: string; reason: string; declined_at: Date; expires_at: Date }[];
  total: number;
}> {
  const rows = (await db.query(
    `SELECT d.runner_id, r.name AS runner_name, d.reason, d.declined_at,
            ${DECLINE_EXPIRES_AT('d', '$2::int')} AS expires_at, COUNT(*) OVER ()::int AS total
       FROM runner_study_declines d JOIN runners r ON r.id = d.runner_id
      WHERE d.study_id = $1 AND ${DECLINE_IN_FORCE('d', '$2::int')}
      ORDER BY d.declined_at DESC, d.runner_id LIMIT $3 OFFSET $4`,
    [studyId, Math.trunc(expiresAfterMs), limit, offset],
  )) as {
    runner_id: string;
    runner_name: string;
    reason: string;
    declined_at: Date;
    expires_at: Date;
    total: number;
  }[];
  const total =
    rows.length > 0
      ? rows[0].total
      : (
          (await db.query(
            `SELECT COUNT(*)::int AS n FROM runner_study_declines d
              WHERE d.study_id = $1 AND ${DECLINE_IN_FORCE('d', '$2::int')}`,
            [studyId, Math.trunc(expiresAfterMs)],
          )) as { n: number }[]
        )[0].n;
  return { rows, total };
}

/** Forgets every decline of the runner (it registered again: its settings may have changed). */
export async function clearDeclines(db: Db, runnerId: string): Promise<void> {
  await db.query('DELETE FROM runner_study_declines WHERE runner_id = $1', [runnerId]);
}
