import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, type FieldError, notFound, ValidationFailedError } from '../common/errors/domain-error';
import { StudiesService } from '../studies/studies.service';
import type { Study } from '../studies/study.entity';
import type {
  CompleteTrialDto,
  FailTrialDto,
  TrialHeartbeatDto,
  TrialHeartbeatResponseDto,
} from './dto/trial-reports.dto';
import type { TrialResponseDto } from './dto/trial-response.dto';
import { TrialLease, type LeaseOutcome } from './trial-lease.entity';
import { TrialMetric } from './trial-metric.entity';
import { TrialOutcomes } from './trial-outcomes';
import { toTrialResponse } from './trial-response.mapper';
import { lostLeaseCount, requeueTrial } from './trial-transitions';
import { Trial } from './trial.entity';
import { inTransaction } from '../database/transaction';

type Report = { kind: 'complete'; outputs: Record<string, number> } | { kind: 'fail'; error: string };

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

/** The runner side of a trial (ARCHITECTURE.md, runner protocol 3–5): heartbeat, complete, fail, release. */
@Injectable()
export class TrialReportsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly outcomes: TrialOutcomes,
  ) {}

  async heartbeat(trialId: string, runnerId: string, body: TrialHeartbeatDto): Promise<TrialHeartbeatResponseDto> {
    return inTransaction(this.dataSource, async (manager) => {
      const trial = await this.lockTrial(manager, trialId);
      if (!(trial.status === 'running' && trial.runnerId === runnerId)) {
        await this.rejectNonHolder(manager, trial, runnerId);
      }
      const study = await this.studies.findSummaryOrThrow(trial.studyId, manager);
      const now = new Date();
      trial.leaseExpiresAt = new Date(now.getTime() + study.leaseSeconds * 1000);
      trial.lastHeartbeatAt = now;
      if (body.progress !== undefined) trial.progress = body.progress;
      await manager.getRepository(Trial).save(trial);
      if (body.metrics !== undefined && body.metrics.length > 0) {
        await manager
          .createQueryBuilder()
          .insert()
          .into(TrialMetric)
          .values(
            body.metrics.map((metric) => ({ trialId, name: metric.name, step: metric.step, value: metric.value })),
          )
          .orUpdate(['value'], ['trial_id', 'name', 'step'])
          .execute();
      }
      const reason = study.status === 'active' ? null : `study_${study.status}`;
      return { shouldStop: reason !== null, reason, leaseExpiresAt: trial.leaseExpiresAt.toISOString() };
    });
  }

  async complete(trialId: string, runnerId: string, body: CompleteTrialDto): Promise<TrialResponseDto> {
    return this.finish(trialId, runnerId, { kind: 'complete', outputs: body.outputs });
  }

  async fail(trialId: string, runnerId: string, body: FailTrialDto): Promise<TrialResponseDto> {
    return this.finish(trialId, runnerId, { kind: 'fail', error: body.error }, body.retryable === true);
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

  private async finish(
    trialId: string,
    runnerId: string,
    report: Report,
    retryable = false,
  ): Promise<TrialResponseDto> {
    const hash = reportHash(report);
    return this.withStudyAndTrial(trialId, async (manager, study, trial) => {
      const holds = trial.status === 'running' && trial.runnerId === runnerId;
      if (!holds) {
        const ownLease = await this.latestLeaseOf(manager, trial.id, runnerId);
        if (ownLease === null) {
          throw new DomainError('TRIAL_NOT_LEASED_TO_RUNNER', `trial ${trial.id} was never leased to this runner`);
        }
        const finished = trial.status === 'completed' || trial.status === 'failed' || trial.status === 'stopped';
        if (finished && trial.runnerId === runnerId) {
          if (trial.reportHash === hash) return toTrialResponse(trial);
          throw new DomainError(
            'TRIAL_ALREADY_FINISHED',
            `trial ${trial.id} is already ${trial.status} with a different report`,
            { status: trial.status, outputs: trial.outputs, error: trial.error },
          );
        }
        if (ownLease.outcome === 'failed' && report.kind === 'fail') return toTrialResponse(trial);
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
      if (report.kind === 'complete') this.checkOutputs(study, report.outputs);
      const now = new Date();
      if (report.kind === 'fail' && retryable && trial.status === 'running') {
        const lost = await lostLeaseCount(manager, trial.id);
        if (lost + 1 < study.maxAttempts) {
          await this.endLease(manager, trial, 'failed');
          requeueTrial(trial, study);
          trial.error = report.error;
          await manager.getRepository(Trial).save(trial);
          return toTrialResponse(trial);
        }
      }
      if (trial.status === 'running')
        await this.endLease(manager, trial, report.kind === 'complete' ? 'completed' : 'failed');
      trial.status = report.kind === 'complete' ? 'completed' : 'failed';
      trial.outputs = report.kind === 'complete' ? report.outputs : null;
      trial.error = report.kind === 'fail' ? report.error : null;
      trial.reportHash = hash;
      trial.finishedAt = now;
      trial.leaseExpiresAt = null;
      await this.outcomes.recordEvaluation(manager, study, trial, report.kind === 'complete' ? report.outputs : null);
      return toTrialResponse(trial);
    });
  }

  private checkOutputs(study: Study, outputs: Record<string, number>): void {
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
