import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { notFound } from '../common/errors/domain-error';
import { EngineService } from '../engine/engine.service';
import type { UserPoint } from '../search-space/search-space';
import { StudiesService } from '../studies/studies.service';
import { MAX_METRIC_POINTS_PER_TRIAL } from './dto/trial-reports.dto';
import type { TrialResponseDto } from './dto/trial-response.dto';
import * as trialStore from './store/trial-store';
import { toTrialResponse } from './trial-response.mapper';
import type { TrialStatus } from './trial-status';

@Injectable()
export class TrialsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly studies: StudiesService,
    private readonly engine: EngineService,
  ) {}

  async list(
    studyId: string,
    status: TrialStatus | undefined,
    limit: number,
    offset: number,
  ): Promise<{ items: TrialResponseDto[]; total: number }> {
    await this.studies.findOrThrow(studyId);
    const [trials, total] = await trialStore.listTrials(this.dataSource, studyId, status, limit, offset);
    return { items: trials.map((trial) => toTrialResponse(trial)), total };
  }

  async get(trialId: string): Promise<TrialResponseDto> {
    const trial = await trialStore.findTrial(this.dataSource, trialId);
    if (trial === null) throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    // Heartbeats keep a trial within this (a race of two heartbeats could pass it by one batch).
    const metrics = await trialStore.metricsOf(this.dataSource, trialId, MAX_METRIC_POINTS_PER_TRIAL);
    return toTrialResponse(trial, metrics);
  }

  /** A user-given point, leased before any engine suggestion; its result is told to the engine like any other. */
  enqueue(studyId: string, parameters: UserPoint): Promise<TrialResponseDto> {
    return this.engine.enqueue(studyId, parameters);
  }
}
