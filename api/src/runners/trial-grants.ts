import type { EntityManager } from 'typeorm';
import type { Suggestion } from '../optimizer-contract/algorithm';
import { preparedQuery } from '../database/prepared-query';
import { RELAXED_COMMIT } from '../database/relaxed-commit';
import { type EngineMapping, pointKey } from '../search-space/engine-mapping';
import type { Study } from '../studies/study.entity';
import { toTrialResponse } from '../trials/trial-response.mapper';
import { trialFromRow, type TrialRow } from '../trials/trial-row';
import type { LeaseResponseDto } from './dto/lease.dto';

/** The statements that hand trials to runners: each grants a lease and writes its lease row at once. */

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
 * The oldest pending trial of the study, when the study is active and has room for one more
 * running trial, leased to the runner with FOR UPDATE SKIP LOCKED (no two runners ever get the
 * same one), its lease row written and the runner marked seen, in one statement. Null when there
 * is none. (A lease naming no study picks the study first: LeaseService.leaseFromAnyStudy.)
 */
export async function takePendingTrial(
  manager: EntityManager,
  runnerId: string,
  studyId: string,
): Promise<LeaseResponseDto | null> {
  const now = new Date();
  // The study's room is checked once, then its oldest pending trial is taken through ix_trials_study_pending.
  const candidate = `SELECT t.id FROM trials t
          WHERE t.study_id = $3 AND t.status = 'pending'
            AND EXISTS (SELECT 1 FROM studies s
                         WHERE s.id = $3 AND s.status = 'active'
                           AND (SELECT COUNT(*) FROM trials r WHERE r.study_id = $3 AND r.status = 'running') < s.max_parallel_trials)
          ORDER BY t.created_at, t.number
          LIMIT 1
          FOR UPDATE OF t SKIP LOCKED`;
  const rows = (await preparedQuery(
    manager,
    {
      name: 'take-pending-trial',
      text: `WITH seen AS (
       UPDATE runners SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2::timestamptz - interval '1 second'
     ), candidate AS (${candidate}
     ), granted AS (
       UPDATE trials t
          SET status = 'running', runner_id = $1, updated_at = $2,
              lease_expires_at = $2::timestamptz + make_interval(secs => s.lease_seconds),
              started_at = COALESCE(t.started_at, $2), last_heartbeat_at = NULL, progress = NULL
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

/**
 * New trials for the engine's suggestions, numbered on from the study's next number and leased
 * at once to `runnerIds` (the i-th fresh point to the i-th runner), with their lease rows, in
 * one statement. A point that is already a trial of the study (an enqueued one: its result will
 * answer the engine) is left out, so the last runners may get nothing. Returns the leases in
 * runner order; the study (locked by the caller) must be active.
 */
export async function insertLeasedTrials(
  manager: EntityManager,
  study: Study,
  suggestions: Suggestion[],
  runnerIds: string[],
  mapping: EngineMapping,
): Promise<LeaseResponseDto[]> {
  const now = new Date();
  const points = suggestions.map((suggestion) => ({
    origin: suggestion.origin,
    point: suggestion.x,
    point_key: pointKey(suggestion.x),
    parameters: mapping.toUser(suggestion.x),
  }));
  const rows = (await manager.query(
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
       SELECT $1, $3 + rank - 1, 'running', origin, point, point_key, parameters, 1,
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
  study.nextTrialNumber += rows.length;
  return rows.map(leaseResponse);
}
