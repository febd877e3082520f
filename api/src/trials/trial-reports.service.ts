import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, type FieldError, notFound, ValidationFailedError } from '../common/errors/domain-error';
import { inTransaction } from '../database/transaction';
import { EngineService } from '../engine/engine.service';
import { RunnerHealth } from '../runners/runner-health';
import * as runnerStore from '../runners/runner-store';
import { StudiesService } from '../studies/studies.service';
import { StudyChanges } from '../studies/study-changes';
import { isFinishedStudy } from '../studies/study-status';
import type { Study } from '../studies/study.entity';
import {
  MAX_METRIC_NAMES_PER_TRIAL,
  MAX_METRIC_POINTS_PER_TRIAL,
  type CompleteTrialDto,
  type FailTrialDto,
  type TrialHeartbeatDto,
  type TrialHeartbeatResponseDto,
} from './dto/trial-reports.dto';
import type { TrialResponseDto } from './dto/trial-response.dto';
import * as trialStore from './store/trial-store';
import { TrialEarlyStopping } from './trial-early-stopping';
import { toTrialResponse } from './trial-response.mapper';
import type { Trial } from './trial.entity';

type Report = trialStore.Report;

/** The reply to a heartbeat of a trial stopped early: stop now, the trial is over (nothing to complete). */
function earlyStoppedReply(metricsDropped: number): TrialHeartbeatResponseDto {
  return { shouldStop: true, reason: 'early_stopped', leaseExpiresAt: null, metricsDropped };
}

/** What a runner gets for reporting on a trial stopped early: the trial is over, its result is the stop. */
function earlyStoppedError(trial: Trial): DomainError {
  return new DomainError(
    'TRIAL_STOPPED_EARLY',
    `trial ${trial.id} was stopped early (early_stopped) at progress ${trial.earlyStop?.progress ?? '?'}; drop this result`,
    { status: trial.status, stopReason: trial.stopReason },
  );
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
    private readonly engine: EngineService,
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
    const beat = await trialStore.heartbeat(
      this.dataSource,
      trialId,
      runnerId,
      now,
      body.progress ?? null,
      [...metrics.values()],
      MAX_METRIC_POINTS_PER_TRIAL,
      MAX_METRIC_NAMES_PER_TRIAL,
      body.gpuSeconds ?? null,
    );
    if (beat.lease_expires_at === null) return this.rejectHeartbeat(trialId, runnerId, body);
    const reason = beat.status === 'active' ? null : `study_${beat.status}`;
    const reply = {
      shouldStop: reason !== null,
      reason,
      leaseExpiresAt: beat.lease_expires_at.toISOString(),
      metricsDropped: metrics.size - beat.recorded,
    };
    if (reason !== null || beat.policy_kind === 'none' || beat.recorded === 0) return reply;
    const stopped = await this.stopEarlyIfHopeless(trialId, runnerId, beat, body);
    return stopped ? earlyStoppedReply(reply.metricsDropped) : reply;
  }

  /**
   * The early-stopping decision (docs/algorithm.md, "Early stopping"), asked when the heartbeat
   * added points to the objective's curve. A stop is stored by trialStore.stopEarly (the trial is
   * `stopped`, or `paused` when the policy's stops can be undone, its lease ended) and told to the engine by the flush that follows, as a report's
   * result is. The lease is already renewed: a decision that fails only logs.
   */
  private async stopEarlyIfHopeless(
    trialId: string,
    runnerId: string,
    beat: trialStore.HeartbeatRow,
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
        origin: beat.origin as Trial['origin'],
        engineVersion: beat.engine_version as number,
        evaluationCount: beat.evaluation_count as number,
        resumes: beat.resumes ?? 0,
      });
      if (decision === null || !decision.stop) return false;
      const stopped = await trialStore.stopEarly(this.dataSource, {
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
        // The runner is told `early_stopped` either way: it keeps the adapter and the checkpoint
        // folder of a stopped trial, which is what a resume continues from.
        pause: decision.pause,
        resumeScore: decision.resumeScore,
      });
      if (stopped === null) return false;
    } catch (error) {
      this.logger.warn({ message: 'early-stopping decision failed; the trial goes on', trialId, error: String(error) });
      return false;
    }
    await this.engine.tellStoredQuietly(studyId);
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
        if (body.gpuSeconds !== undefined) await trialStore.recordStoppedGpuSeconds(manager, trial.id, body.gpuSeconds);
        return earlyStoppedReply(body.metrics?.length ?? 0);
      }
      return this.rejectNonHolder(manager, trial, runnerId);
    });
  }

  async complete(trialId: string, runnerId: string, body: CompleteTrialDto): Promise<TrialResponseDto> {
    // The effective configuration and the adapter describe the result; they are not part of it,
    // so the report's hash (a repeated report's identity) stays the outputs' alone.
    const report: Report = {
      kind: 'complete',
      outputs: body.outputs,
      effectiveConfig: body.effectiveConfig ?? null,
      adapter:
        body.adapter === undefined
          ? null
          : { location: body.adapter.location, sizeBytes: body.adapter.sizeBytes ?? null },
    };
    return this.finish(trialId, runnerId, report, body.gpuSeconds ?? null);
  }

  async fail(trialId: string, runnerId: string, body: FailTrialDto): Promise<TrialResponseDto> {
    const gpuSeconds = body.gpuSeconds ?? null;
    if (body.kind === 'runner') return this.failRunner(trialId, runnerId, body.error, gpuSeconds);
    if (body.kind === 'resource') {
      const runnerMemory = await this.health.gpuMemoryMbOf(runnerId);
      // Without the runner's memory, "more memory" means nothing: a retryable failed evaluation, as before kinds.
      if (runnerMemory !== null) return this.failResource(trialId, runnerId, body.error, gpuSeconds, runnerMemory);
      return this.finish(trialId, runnerId, { kind: 'fail', error: body.error }, gpuSeconds, true);
    }
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
      await trialStore.requeue(manager, trial, {
        leaseOutcome: 'runner_failed',
        studyOver: isFinishedStudy(study.status),
        error,
        runnerFailure: true,
        gpuSeconds,
      });
      const counted = await this.health.recordRunnerFailure(manager, runnerId, error);
      return { response: toTrialResponse(trial), outcome: counted };
    });
    if (outcome !== null) {
      this.changes.notify(response.studyId);
      await this.health.afterRunnerFailure(runnerId, outcome);
    }
    return response;
  }

  /**
   * Out of GPU memory on a runner with `runnerMemory` MiB per GPU: the machine's size, not the
   * point nor the machine's health. From now on the trial needs more memory per GPU than the
   * largest GPU it ran out on (`minGpuMemoryMb`). While a live, not quarantined runner that may
   * lease the study has that much, the trial goes back to pending for it (lease outcome
   * `resource_failed`: no attempt, no budget, runner health untouched; stopped instead when the
   * study is over); otherwise it fits no runner and is a failed evaluation, told to the engine
   * (NOMAD's EVAL_FAILED) and counted in the budget — not against the runner's evaluation-failure
   * streak, since the point would fail on every machine of the fleet.
   */
  private async failResource(
    trialId: string,
    runnerId: string,
    error: string,
    gpuSeconds: number | null,
    runnerMemory: number,
  ): Promise<TrialResponseDto> {
    // The report's identity is what the runner said; the stored error says why it failed for good.
    const hash = reportHash({ kind: 'fail', error });
    const { response, stored } = await this.withStudyAndTrial(trialId, async (manager, study, trial) => {
      if (!(trial.status === 'running' && trial.runnerId === runnerId)) {
        // The same report again (its answer was lost): same answer, counted once.
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        const failedHere = trial.status === 'failed' && trial.runnerId === runnerId && trial.reportHash === hash;
        if (ownLease?.outcome === 'resource_failed' || failedHere) {
          return { response: toTrialResponse(trial), stored: false };
        }
        return this.rejectNonHolder(manager, trial, runnerId);
      }
      const minGpuMemoryMb = Math.max(trial.minGpuMemoryMb ?? 0, runnerMemory + 1);
      const studyOver = isFinishedStudy(study.status);
      if (studyOver || (await this.health.anyLiveRunnerFits(manager, study.id, minGpuMemoryMb))) {
        await trialStore.requeue(manager, trial, {
          leaseOutcome: 'resource_failed',
          studyOver,
          error,
          gpuSeconds,
          minGpuMemoryMb,
        });
        return { response: toTrialResponse(trial), stored: false };
      }
      trial.minGpuMemoryMb = minGpuMemoryMb;
      const reason =
        `out of GPU memory on a runner with ${runnerMemory} MiB per GPU, and no live runner that may lease ` +
        `the study has more: it does not fit any runner. ${error}`;
      await trialStore.finishLocked(manager, trial, runnerId, { kind: 'fail', error: reason }, hash, gpuSeconds);
      return { response: toTrialResponse(trial), stored: true };
    });
    if (!stored) {
      if (response.status === 'pending') this.changes.notify(response.studyId);
      return response;
    }
    await this.engine.tellStoredQuietly(response.studyId);
    return response;
  }

  /**
   * Give the trial back unfinished (runner shutting down, study paused): it is leased again later.
   * `gpuSeconds`: what the attempt used up to the release, kept like a failure's (bounded by the
   * lease, `BOUNDED_GPU_SECONDS`); a repeated release (its answer lost) changes nothing.
   */
  async release(trialId: string, runnerId: string, gpuSeconds: number | null = null): Promise<TrialResponseDto> {
    return this.withStudyAndTrial(trialId, async (manager, study, trial) => {
      if (!(trial.status === 'running' && trial.runnerId === runnerId)) {
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        if (ownLease?.outcome === 'released') return toTrialResponse(trial);
        await this.rejectNonHolder(manager, trial, runnerId);
      }
      await trialStore.requeue(manager, trial, {
        leaseOutcome: 'released',
        studyOver: isFinishedStudy(study.status),
        gpuSeconds,
      });
      return toTrialResponse(trial);
    });
  }

  /**
   * The runner cannot run this study by its own settings (a path outside its folders, no
   * `trainingConfig` for a training runner; docs/reliability.md, finding 49), found before any
   * training: the trial goes back to pending as a release does (lease outcome `released`: budget,
   * attempts, engine and the runner's health untouched), and the study is not leased to this
   * runner again for `MESHTUNE_RUNNER_DECLINE_MS` (runners/runner-study-decline.entity.ts).
   * Only this (runner, study) pair is excluded, so a study's content cannot keep a runner from
   * other studies, and a study that every runner declines waits (its declines are listed at
   * `GET /v1/studies/{id}/runner-declines`) instead of failing. The same decline again (its answer
   * was lost) gets the same answer. `gpuSeconds`: what the attempt used when the runner found its
   * lack only in the training child (e.g. loading the model), kept like a failure's.
   */
  async decline(
    trialId: string,
    runnerId: string,
    reason: string,
    gpuSeconds: number | null = null,
  ): Promise<TrialResponseDto> {
    const response = await this.withStudyAndTrial(trialId, async (manager, study, trial) => {
      if (!(trial.status === 'running' && trial.runnerId === runnerId)) {
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        const declined = await runnerStore.hasDeclined(manager, runnerId, study.id);
        if (ownLease?.outcome === 'released' && declined) return toTrialResponse(trial);
        await this.rejectNonHolder(manager, trial, runnerId);
      }
      await trialStore.requeue(manager, trial, {
        leaseOutcome: 'released',
        studyOver: isFinishedStudy(study.status),
        gpuSeconds,
      });
      await runnerStore.recordDecline(manager, runnerId, study.id, reason);
      return toTrialResponse(trial);
    });
    if (response.status === 'pending') this.changes.notify(response.studyId);
    return response;
  }

  /**
   * Stores the result with only the trial row locked: reports never queue on the study lock that
   * engine asks hold. The engine is told afterwards (EngineService.tellStored), and this waits for it
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
      await this.engine.tellStoredQuietly(fast.studyId);
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
      }
      const study = await this.studies.findOrThrow(trial.studyId, manager);
      if (report.kind === 'complete') this.checkOutputs(study, report.outputs);
      if (
        report.kind === 'fail' &&
        retryable &&
        trial.status === 'running' &&
        (await trialStore.requeueRetryable(
          manager,
          trial,
          report.error,
          study.maxAttempts,
          isFinishedStudy(study.status),
          gpuSeconds,
        ))
      ) {
        return { response: toTrialResponse(trial), stored: false };
      }
      await trialStore.finishLocked(manager, trial, runnerId, report, hash, gpuSeconds);
      return { response: toTrialResponse(trial), stored: true };
    });
    if (!stored) return response;
    await this.engine.tellStoredQuietly(response.studyId);
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
    return { ...response, feasible: await trialStore.toldFeasibility(this.dataSource, response.id) };
  }

  /**
   * The common case in one statement (trialStore.finishHeld): the runner holds the lease and the
   * outputs are exactly the study's. Null otherwise: `finish` then works out the answer (a
   * repeated report, a lost lease, the fields at fault) with the trial row locked.
   */
  private async finishHeld(
    trialId: string,
    runnerId: string,
    report: Report,
    hash: string,
    gpuSeconds: number | null,
  ): Promise<TrialResponseDto | null> {
    const trial = await trialStore.finishHeld(this.dataSource, trialId, runnerId, report, hash, gpuSeconds);
    return trial === null ? null : toTrialResponse(trial);
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

  private latestLeaseOf(manager: EntityManager, trialId: string, runnerId: string) {
    return trialStore.latestLeaseOf(manager, trialId, runnerId);
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
    const trial = await trialStore.lockTrial(manager, trialId);
    if (trial === null) throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    return trial;
  }

  /** Locks the study row, then the trial row: the one lock order of the whole service. */
  private async withStudyAndTrial<T>(
    trialId: string,
    work: (manager: EntityManager, study: Study, trial: Trial) => Promise<T>,
  ): Promise<T> {
    const studyId = await trialStore.studyOfTrial(this.dataSource, trialId);
    if (studyId === null) throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    return inTransaction(this.dataSource, async (manager) => {
      const study = await this.studies.lock(manager, studyId);
      const trial = await this.lockTrial(manager, trialId);
      return work(manager, study, trial);
    });
  }
}
