import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError, type FieldError, notFound, ValidationFailedError } from '../common/errors/domain-error';
import { pointKey } from '../search-space/engine-mapping';
import type { UserPoint } from '../search-space/search-space';
import { validatePoint } from '../search-space/search-space-validator';
import { EngineStore } from '../studies/engine/engine-store';
import { StudyChanges } from '../studies/study-changes';
import { mappingOf } from '../studies/study-engine';
import { isFinishedStudy } from '../studies/study-status';
import { StudiesService } from '../studies/studies.service';
import { MAX_METRIC_POINTS_PER_TRIAL } from './dto/trial-reports.dto';
import type { TrialResponseDto } from './dto/trial-response.dto';
import { TrialMetric } from './trial-metric.entity';
import { toTrialResponse } from './trial-response.mapper';
import type { TrialStatus } from './trial-status';
import { Trial } from './trial.entity';

@Injectable()
export class TrialsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engines: EngineStore,
    private readonly changes: StudyChanges,
  ) {}

  async list(
    studyId: string,
    status: TrialStatus | undefined,
    limit: number,
    offset: number,
  ): Promise<{ items: TrialResponseDto[]; total: number }> {
    await this.studies.findOrThrow(studyId);
    const [trials, total] = await this.dataSource.getRepository(Trial).findAndCount({
      where: status === undefined ? { studyId } : { studyId, status },
      order: { number: 'ASC' },
      take: limit,
      skip: offset,
    });
    return { items: trials.map((trial) => toTrialResponse(trial)), total };
  }

  async get(trialId: string): Promise<TrialResponseDto> {
    const trial = await this.dataSource.getRepository(Trial).findOneBy({ id: trialId });
    if (trial === null) throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    const metrics = await this.dataSource.getRepository(TrialMetric).find({
      select: { name: true, step: true, value: true },
      where: { trialId },
      order: { name: 'ASC', step: 'ASC' },
      // Heartbeats keep a trial within this (a race of two heartbeats could pass it by one batch).
      take: MAX_METRIC_POINTS_PER_TRIAL,
    });
    return toTrialResponse(
      trial,
      metrics.map(({ name, step, value }) => ({ name, step, value })),
    );
  }

  /** A user-given point, leased before any engine suggestion; its result is told to the engine like any other. */
  async enqueue(studyId: string, parameters: UserPoint): Promise<TrialResponseDto> {
    const enqueued = await this.engines.withLockedStudy(studyId, async (manager, study, engine) => {
      const errors: FieldError[] = [];
      validatePoint(study.parameters, parameters, 'parameters', errors);
      if (errors.length > 0) throw new ValidationFailedError(errors);
      if (isFinishedStudy(study.status)) {
        throw new DomainError('STUDY_FINISHED', `study ${studyId} is ${study.status}; no trial can be added`);
      }
      const mapping = mappingOf(study);
      const point = mapping.toEngine(parameters);
      const key = pointKey(point);
      const trials = manager.getRepository(Trial);
      const existing = await trials.findOneBy({ studyId, pointKey: key });
      if (existing !== null) {
        throw new DomainError('DUPLICATE_POINT', `this point is already trial #${existing.number} of the study`, {
          trialId: existing.id,
          number: existing.number,
        });
      }
      const user = mapping.toUser(point);
      const nonFinite = mapping.nonFiniteDerived(user);
      if (nonFinite !== null) {
        throw new ValidationFailedError([
          {
            field: 'parameters',
            reason: `gives the derived parameter ${nonFinite.name} the value ${String(nonFinite.value)}; a runner needs a finite number`,
          },
        ]);
      }
      const trial = await trials.save(
        trials.create({
          studyId,
          number: study.nextTrialNumber,
          status: 'pending',
          origin: 'user',
          point,
          pointKey: key,
          parameters: user,
          attempt: 1,
        }),
      );
      study.nextTrialNumber += 1;
      // The engine must know the point is being evaluated, so it neither suggests it nor overspends the budget.
      (await engine()).markInFlight([point]);
      return toTrialResponse(trial);
    });
    this.changes.notify(studyId);
    return enqueued;
  }
}
