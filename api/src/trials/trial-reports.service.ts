import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, type FieldError, notFound, ValidationFailedError } from '../common/errors/domain-error';
import { preparedQuery } from '../database/prepared-query';
import { RELAXED_COMMIT } from '../database/relaxed-commit';
import { inTransaction } from '../database/transaction';
import { healRunnerStatement, RunnerHealth } from '../runners/runner-health';
import { StudiesService } from '../studies/studies.service';
import { StudyChanges } from '../studies/study-changes';
import { Study } from '../studies/study.entity';
import {
  MAX_METRIC_NAMES_PER_TRIAL,
  MAX_METRIC_POINTS_PER_TRIAL,
  type CompleteTrialDto,
  type FailTrialDto,
  type TrialHeartbeatDto,
  type TrialHeartbeatResponseDto,
} from './dto/trial-reports.dto';
import type { TrialResponseDto } from './dto/trial-response.dto';
import { TrialLease, type LeaseOutcome } from './trial-lease.entity';
import { TrialOutcomes } from './trial-outcomes';
import { toTrialResponse } from './trial-response.mapper';
import { trialFromRow, type TrialRow } from './trial-row';
import { TrialEarlyStopping } from './trial-early-stopping';
import type { TrialOrigin } from './trial-status';
import { lostLeaseCount, requeueTrial, stopTrialEarly } from './trial-transitions';
import { Trial } from './trial.entity';

type Report = { kind: 'complete'; outputs: Record<string, number> } | { kind: 'fail'; error: string };

/** What the heartbeat statement returns; the trial and study columns are null when the runner does not hold the lease. */
interface HeartbeatRow {
  lease_expires_at: Date | null;
  status: Study['status'] | null;
  study_id: string | null;
  attempt: number | null;
  number: number | null;
  origin: string | null;
  engine_version: number | null;
  evaluation_count: number | null;
  policy_kind: string | null;
  recorded: number;
}

/** What a runner gets for reporting on a trial stopped early: the trial is over, its result is the stop. */
function earlyStoppedError(trial: Trial): DomainError {
  return new DomainError(
    'TRIAL_STOPPED_EARLY',
    `trial ${trial.id} was stopped early (early_stopped) at progress ${trial.earlyStop?.progress ?? '?'}; drop this result`,
    { status: trial.status, stopReason: trial.stopReason },
  );
}

/** The reply to a heartbeat of a trial stopped early: stop now, the trial is over (nothing to complete). */
function earlyStoppedReply(metricsDropped: number): TrialHeartbeatResponseDto {
  return { shouldStop: true, reason: 'early_stopped', leaseExpiresAt: null, metricsDropped };
}

function reportHash(report: Report): string {
  const canonical =
    report.kind === 'complete'
      ? {
          kind: report.kind,
          outputs: Object.fromEntries(Object.entries(report.outputs).sort(([a], [b]) => a.localeCompare(b))),
        }
      : report;
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * The runner side of a trial (docs/architecture.md, Runner protocol): heartbeat, complete, fail,
 * release.
 */
@Injectable()
export class TrialReportsService {
  private readonly logger = new Logger(TrialReportsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly outcomes: TrialOutcomes,
    private readonly health: RunnerHealth,
    private readonly changes: StudyChanges,
    private readonly earlyStopping: TrialEarlyStopping,
  ) {}

  /**
   * One statement when the runner holds the lease (the common case); the error cases are sorted
   * out after. Metrics are runner-controlled, so a trial keeps at most MAX_METRIC_POINTS_PER_TRIAL
   * points over MAX_METRIC_NAMES_PER_TRIAL names: beyond that, new points are dropped (the lease
   * is still renewed) and counted in `metricsDropped`; re-sending a stored point still overwrites it.
   */
  async heartbeat(trialId: string, runnerId: string, body: TrialHeartbeatDto): Promise<TrialHeartbeatResponseDto> {
    const now = new Date();
    const metrics = new Map((body.metrics ?? []).map((metric) => [`${metric.name}\u0000${metric.step}`, metric]));
    const rows = (await preparedQuery(
      this.dataSource,
      {
        name: 'trial-heartbeat',
        text: `WITH beat AS (
         UPDATE trials t
            SET lease_expires_at = $3::timestamptz + make_interval(secs => s.lease_seconds),
                last_heartbeat_at = $3, progress = COALESCE($4, t.progress), updated_at = $3,
                gpu_seconds = COALESCE($8, t.gpu_seconds),
                total_steps = CASE WHEN $4 > 0 AND $9::float8 > 0 THEN $9::float8 / $4 ELSE t.total_steps END
           FROM studies s
          WHERE t.id = $1 AND t.status = 'running' AND t.runner_id = $2 AND s.id = t.study_id
         RETURNING t.id, t.lease_expires_at, s.status, t.study_id, t.attempt, t.number, t.origin,
                   s.engine_version, s.evaluation_count, s.early_stopping->>'kind' AS policy_kind
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
              beat.engine_version, beat.evaluation_count, beat.policy_kind,
              (SELECT COUNT(*)::int FROM recorded) AS recorded
         FROM ${RELAXED_COMMIT} LEFT JOIN beat ON true`,
      },
      [
        trialId,
        runnerId,
        now,
        body.progress ?? null,
        JSON.stringify([...metrics.values()]),
        MAX_METRIC_POINTS_PER_TRIAL,
        MAX_METRIC_NAMES_PER_TRIAL,
        body.gpuSeconds ?? null,
        // The run length is the last step reported over the share done, both from this heartbeat.
        metrics.size === 0 ? null : Math.max(...[...metrics.values()].map((metric) => metric.step)),
      ],
    )) as HeartbeatRow[];
    const [beat] = rows;
    if (beat.lease_expires_at === null) return this.rejectHeartbeat(trialId, runnerId, body);
    const reason = beat.status === 'active' ? null : `study_${beat.status}`;
    const reply = {
      shouldStop: reason !== null,
      reason,
      leaseExpiresAt: beat.lease_expires_at.toISOString(),
      metricsDropped: metrics.size - beat.recorded,
    };
    if (reason !== null || beat.policy_kind === 'none' || beat.recorded === 0) return reply;
    return (await this.stopEarlyIfHopeless(trialId, runnerId, beat, body))
      ? earlyStoppedReply(metrics.size - beat.recorded)
      : reply;
  }

  /**
   * The early-stopping decision (docs/algorithm.md, "Early stopping"), asked when the heartbeat
   * added points to the objective's curve. A stop is stored by `stopTrialEarly` (the trial is
   * `stopped`, its lease ended) and told to the engine by the flush that follows, as a report's
   * result is. The lease is already renewed: a decision that fails only logs.
   */
  private async stopEarlyIfHopeless(
    trialId: string,
    runnerId: string,
    beat: HeartbeatRow,
    body: TrialHeartbeatDto,
  ): Promise<boolean> {
    const studyId = beat.study_id as string;
    try {
      const metric = await this.earlyStopping.metricOf(studyId);
      if (!(body.metrics ?? []).some((point) => point.name === metric)) return false;
      const decision = await this.earlyStopping.decide({
        trialId,
        runnerId,
        studyId,
        attempt: beat.attempt as number,
        number: beat.number as number,
        origin: beat.origin as TrialOrigin,
        engineVersion: beat.engine_version as number,
        evaluationCount: beat.evaluation_count as number,
      });
      if (decision === null || !decision.stop) return false;
      const stopped = await stopTrialEarly(this.dataSource, {
        trialId,
        runnerId,
        attempt: beat.attempt as number,
        decision: {
          rule: decision.reason,
          progress: decision.progress,
          lastValue: decision.lastValue,
          extrapolatedFinal: decision.extrapolatedFinal,
          lowerBound: decision.lowerBound,
          threshold: decision.threshold,
          median: decision.median,
          model: decision.model,
          calibrationSize: decision.calibrationSize,
        },
        now: new Date(),
      });
      if (stopped === null) return false;
    } catch (error) {
      this.logger.warn({ message: 'early-stopping decision failed; the trial goes on', trialId, error: String(error) });
      return false;
    }
    await this.outcomes.flushQuietly(studyId);
    this.changes.notify(studyId);
    return true;
  }

  /**
   * A heartbeat from a runner that no longer holds a running trial. For a trial stopped early
   * under this runner's lease (its reply was lost, or the runner reports its last GPU-seconds) the
   * answer is the stop again, and the GPU-seconds are kept; every other case is an error.
   */
  private async rejectHeartbeat(
    trialId: string,
    runnerId: string,
    body: TrialHeartbeatDto,
  ): Promise<TrialHeartbeatResponseDto> {
    return inTransaction(this.dataSource, async (manager) => {
      const trial = await this.lockTrial(manager, trialId);
      if (trial.stopReason === 'early_stopped' && trial.runnerId === runnerId) {
        if (body.gpuSeconds !== undefined) {
          await manager.query('UPDATE trials SET gpu_seconds = $2 WHERE id = $1', [trial.id, body.gpuSeconds]);
        }
        return earlyStoppedReply(body.metrics?.length ?? 0);
      }
      return this.rejectNonHolder(manager, trial, runnerId);
    });
  }

  async complete(trialId: string, runnerId: string, body: CompleteTrialDto): Promise<TrialResponseDto> {
    return this.finish(trialId, runnerId, { kind: 'complete', outputs: body.outputs }, body.gpuSeconds ?? null);
  }

  async fail(trialId: string, runnerId: string, body: FailTrialDto): Promise<TrialResponseDto> {
    const gpuSeconds = body.gpuSeconds ?? null;
    if (body.kind === 'runner') return this.failRunner(trialId, runnerId, body.error, gpuSeconds);
    return this.finish(trialId, runnerId, { kind: 'fail', error: body.error }, gpuSeconds, body.retryable === true);
  }

  /**
   * A runner failure: the machine, not the point. The trial goes back to pending with its budget
   * and attempts untouched (lease outcome `runner_failed`, `runnerFailures` + 1), nothing is told
   * to the engine, and the runner's failure streak grows (runners/runner-health.ts); when that
   * quarantines it, its other leases go back to pending too.
   */
  private async failRunner(
    trialId: string,
    runnerId: string,
    error: string,
    gpuSeconds: number | null,
  ): Promise<TrialResponseDto> {
    const { response, outcome } = await this.withStudyAndTrial(trialId, async (manager, study, trial) => {
      if (!(trial.status === 'running' && trial.runnerId === runnerId)) {
        // The same report again (its answer was lost): same answer, counted once.
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        if (ownLease?.outcome === 'runner_failed' || ownLease?.outcome === 'quarantined') {
          return { response: toTrialResponse(trial), outcome: null };
        }
        return this.rejectNonHolder(manager, trial, runnerId);
      }
      await this.endLease(manager, trial, 'runner_failed');
      requeueTrial(trial, study);
      trial.error = error;
      trial.runnerFailures += 1;
      trial.gpuSeconds = gpuSeconds ?? trial.gpuSeconds;
      await manager.getRepository(Trial).save(trial);
      const counted = await this.health.recordRunnerFailure(manager, runnerId, error);
      return { response: toTrialResponse(trial), outcome: counted };
    });
    if (outcome !== null) {
      this.changes.notify(response.studyId);
      await this.health.afterRunnerFailure(runnerId, outcome);
    }
    return response;
  }

  /** Give the trial back unfinished (runner shutting down, study paused): it is leased again later. */
  async release(trialId: string, runnerId: string): Promise<TrialResponseDto> {
    return this.withStudyAndTrial(trialId, async (manager, study, trial) => {
      if (!(trial.status === 'running' && trial.runnerId === runnerId)) {
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        if (ownLease?.outcome === 'released') return toTrialResponse(trial);
        await this.rejectNonHolder(manager, trial, runnerId);
      }
      await this.endLease(manager, trial, 'released');
      requeueTrial(trial, study);
      await manager.getRepository(Trial).save(trial);
      return toTrialResponse(trial);
    });
  }

  /**
   * Stores the result with only the trial row locked: reports never queue on the study lock that
   * engine asks hold. The engine is told afterwards (TrialOutcomes.flush), and this waits for it
   * so that the study's evaluation count and status are current when the runner gets its answer.
   */
  private async finish(
    trialId: string,
    runnerId: string,
    report: Report,
    gpuSeconds: number | null,
    retryable = false,
  ): Promise<TrialResponseDto> {
    const hash = reportHash(report);
    const fast = retryable ? null : await this.finishHeld(trialId, runnerId, report, hash, gpuSeconds);
    if (fast !== null) {
      await this.outcomes.flushQuietly(fast.studyId);
      if (fast.status === 'failed') await this.health.recordEvaluationFailure(runnerId, fast.error ?? '');
      return this.withToldReading(fast);
    }
    const { response, stored } = await inTransaction(this.dataSource, async (manager) => {
      const trial = await this.lockTrial(manager, trialId);
      const holds = trial.status === 'running' && trial.runnerId === runnerId;
      if (!holds) {
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        if (ownLease === null) {
          throw new DomainError('TRIAL_NOT_LEASED_TO_RUNNER', `trial ${trial.id} was never leased to this runner`);
        }
        if (trial.stopReason === 'early_stopped') throw earlyStoppedError(trial);
        const finished = trial.status === 'completed' || trial.status === 'failed' || trial.status === 'stopped';
        if (finished && trial.runnerId === runnerId) {
          if (trial.reportHash === hash) return { response: toTrialResponse(trial), stored: false };
          throw new DomainError(
            'TRIAL_ALREADY_FINISHED',
            `trial ${trial.id} is already ${trial.status} with a different report`,
            { status: trial.status, outputs: trial.outputs, error: trial.error },
          );
        }
        if (ownLease.outcome === 'failed' && report.kind === 'fail') {
          return { response: toTrialResponse(trial), stored: false };
        }
        // Lease expired and nobody took the trial since: accept the late result rather than lose it.
        const lateButUntaken =
          trial.status === 'pending' && ownLease.outcome === 'expired' && ownLease.attempt === trial.attempt - 1;
        if (!lateButUntaken) {
          throw new DomainError(
            'LEASE_LOST',
            `the lease of trial ${trial.id} expired and the trial ${finished ? `is ${trial.status}` : 'was leased again'}; drop this result`,
          );
        }
        trial.runnerId = runnerId;
      }
      const study = await manager.getRepository(Study).findOneOrFail({
        select: { id: true, status: true, outputs: true, maxAttempts: true },
        where: { id: trial.studyId },
      });
      if (report.kind === 'complete') this.checkOutputs(study, report.outputs);
      if (report.kind === 'fail' && retryable && trial.status === 'running') {
        const lost = await lostLeaseCount(manager, trial.id);
        if (lost + 1 < study.maxAttempts) {
          await this.endLease(manager, trial, 'failed');
          requeueTrial(trial, study);
          trial.error = report.error;
          trial.gpuSeconds = gpuSeconds ?? trial.gpuSeconds;
          await manager.getRepository(Trial).save(trial);
          return { response: toTrialResponse(trial), stored: false };
        }
      }
      if (trial.status === 'running')
        await this.endLease(manager, trial, report.kind === 'complete' ? 'completed' : 'failed');
      const now = new Date();
      trial.status = report.kind === 'complete' ? 'completed' : 'failed';
      trial.outputs = report.kind === 'complete' ? report.outputs : null;
      trial.error = report.kind === 'fail' ? report.error : null;
      trial.reportHash = hash;
      trial.finishedAt = now;
      trial.leaseExpiresAt = null;
      trial.gpuSeconds = gpuSeconds ?? trial.gpuSeconds;
      await manager.query(
        `UPDATE trials SET status = $2, outputs = $3, error = $4, report_hash = $5, finished_at = $6,
                lease_expires_at = NULL, runner_id = $7, updated_at = $6, gpu_seconds = $8
          WHERE id = $1`,
        [trial.id, trial.status, trial.outputs, trial.error, hash, now, trial.runnerId, trial.gpuSeconds],
      );
      if (report.kind === 'complete') await manager.query(healRunnerStatement('$1'), [runnerId]);
      trial.updatedAt = now;
      return { response: toTrialResponse(trial), stored: true };
    });
    if (!stored) return response;
    await this.outcomes.flushQuietly(response.studyId);
    if (response.status === 'failed') {
      await this.health.recordEvaluationFailure(runnerId, report.kind === 'fail' ? report.error : '');
    }
    return this.withToldReading(response);
  }

  /**
   * The engine's reading (`feasible`) is stored when the result is told, after the report's
   * statement: read it back once the flush is done, so a repeated report gets the same answer.
   */
  private async withToldReading(response: TrialResponseDto): Promise<TrialResponseDto> {
    if (response.status !== 'completed') return response;
    const [row] = await preparedQuery<{ feasible: boolean | null }>(
      this.dataSource,
      { name: 'trial-told-reading', text: 'SELECT feasible FROM trials WHERE id = $1' },
      [response.id],
    );
    return { ...response, feasible: row?.feasible ?? null };
  }

  /**
   * The common case in one statement: the runner holds the lease and the outputs are exactly the
   * study's (every OBJ/PB/EB output, no unknown name). Null otherwise: `finish` then works out
   * the answer (a repeated report, a lost lease, the fields at fault) with the trial row locked.
   */
  private async finishHeld(
    trialId: string,
    runnerId: string,
    report: Report,
    hash: string,
    gpuSeconds: number | null,
  ): Promise<TrialResponseDto | null> {
    const outputs = report.kind === 'complete' ? report.outputs : null;
    const rows = (await preparedQuery(
      this.dataSource,
      {
        name: 'trial-finish-held',
        text: `WITH target AS (
         SELECT t.id, t.attempt FROM trials t JOIN studies s ON s.id = t.study_id
          WHERE t.id = $1 AND t.status = 'running' AND t.runner_id = $2
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
                lease_expires_at = NULL, updated_at = $3, gpu_seconds = COALESCE($8, t.gpu_seconds)
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
        report.kind === 'complete' ? 'completed' : 'failed',
        outputs === null ? null : JSON.stringify(outputs),
        report.kind === 'fail' ? report.error : null,
        hash,
        gpuSeconds,
      ],
    )) as TrialRow[];
    return rows.length === 0 ? null : toTrialResponse(trialFromRow(rows[0]));
  }

  private checkOutputs(study: Pick<Study, 'outputs'>, outputs: Record<string, number>): void {
    const errors: FieldError[] = [];
    const declared = new Set(study.outputs.map((output) => output.name));
    for (const name of Object.keys(outputs)) {
      if (!declared.has(name)) errors.push({ field: `outputs.${name}`, reason: 'is not an output of the study' });
    }
    for (const output of study.outputs) {
      if (output.type !== 'extra' && !Object.hasOwn(outputs, output.name)) {
        errors.push({ field: `outputs.${output.name}`, reason: `is required (${output.type})` });
      }
    }
    if (errors.length > 0) throw new ValidationFailedError(errors);
  }

  private async endLease(manager: EntityManager, trial: Trial, outcome: LeaseOutcome): Promise<void> {
    await manager
      .getRepository(TrialLease)
      .update({ trialId: trial.id, attempt: trial.attempt }, { endedAt: new Date(), outcome });
  }

  private async latestLeaseOf(manager: EntityManager, trialId: string, runnerId: string): Promise<TrialLease | null> {
    return manager.getRepository(TrialLease).findOne({ where: { trialId, runnerId }, order: { attempt: 'DESC' } });
  }

  private async rejectNonHolder(manager: EntityManager, trial: Trial, runnerId: string): Promise<never> {
    const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
    if (ownLease === null) {
      throw new DomainError('TRIAL_NOT_LEASED_TO_RUNNER', `trial ${trial.id} is not leased to this runner`);
    }
    if (trial.stopReason === 'early_stopped') throw earlyStoppedError(trial);
    if (trial.status === 'running' || trial.status === 'pending') {
      throw new DomainError('LEASE_LOST', `the lease of trial ${trial.id} expired; stop working on it`);
    }
    throw new DomainError('TRIAL_NOT_RUNNING', `trial ${trial.id} is ${trial.status}`);
  }

  private async lockTrial(manager: EntityManager, trialId: string): Promise<Trial> {
    const trial = await manager
      .getRepository(Trial)
      .findOne({ where: { id: trialId }, lock: { mode: 'pessimistic_write' } });
    if (trial === null) throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    return trial;
  }

  /** Locks the study row, then the trial row: the one lock order of the whole service. */
  private async withStudyAndTrial<T>(
    trialId: string,
    work: (manager: EntityManager, study: Study, trial: Trial) => Promise<T>,
  ): Promise<T> {
    const located = await this.dataSource
      .getRepository(Trial)
      .findOne({ select: { id: true, studyId: true }, where: { id: trialId } });
    if (located === null) throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    return inTransaction(this.dataSource, async (manager) => {
      const study = await this.studies.lock(manager, located.studyId);
      const trial = await this.lockTrial(manager, trialId);
      return work(manager, study, trial);
    });
  }
}
