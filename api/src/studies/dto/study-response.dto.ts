import { ApiProperty, PickType } from '@nestjs/swagger';
import { ALGORITHM_NAMES, type AlgorithmName } from '../../optimizer-contract/algorithm';
import type { UserPoint } from '../../search-space/search-space';
import { STUDY_STATUSES, STUDY_STOP_REASONS, type StudyStatus, type StudyStopReason } from '../study-status';
import {
  AlgorithmOptionsDto,
  DerivedParameterDto,
  EarlyStoppingPolicyDto,
  OutputDefinitionDto,
} from './create-study.dto';
import { ParameterDefinitionDto } from './parameter-definition.dto';
import { IntegerProperty } from '../../common/dto/is-integer';

export class TrialCountsDto {
  @IntegerProperty()
  pending: number;
  @IntegerProperty()
  running: number;
  @IntegerProperty()
  completed: number;
  @IntegerProperty()
  failed: number;
  /** Early-stopped trials and trials stopped because the study ended. */
  @IntegerProperty()
  stopped: number;
  /** Paused trials (early stopping with `resume`): told as unsuccessful evaluations, may be resumed. */
  @IntegerProperty()
  paused: number;
}

export class StudyBudgetResponseDto {
  @IntegerProperty()
  maxEvaluations: number;
  /** The budget in GPU-hours; null: none (docs/algorithm.md, "Budgets: evaluations and GPU-hours"). */
  maxGpuHours: number | null;
  @IntegerProperty()
  maxParallelTrials: number;
  @IntegerProperty()
  maxAttempts: number;
  @IntegerProperty()
  leaseSeconds: number;
}

export class AlgorithmSummaryDto {
  @ApiProperty({ enum: ALGORITHM_NAMES })
  name: AlgorithmName;
  @IntegerProperty()
  seed: number;
}

export class StudyResponseDto {
  id: string;
  /** The project that owns it. */
  projectId: string;
  /** Labels a runner must have to lease its trials. */
  requiredRunnerLabels: string[];
  /** GPUs a runner must have to lease its trials; null: any. */
  @ApiProperty({ type: 'integer', nullable: true })
  requiredRunnerGpus: number | null;
  /** Memory of each GPU (MiB) a runner must have to lease its trials; null: any. */
  @ApiProperty({ type: 'integer', nullable: true })
  requiredRunnerGpuMemoryMb: number | null;
  name: string;
  description: string | null;
  @ApiProperty({ enum: STUDY_STATUSES })
  status: StudyStatus;
  /** Why the study ended (null while it runs); `x0_failed` ends it as `failed`. */
  @ApiProperty({ enum: STUDY_STOP_REASONS, nullable: true, type: String })
  stopReason: StudyStopReason | null;
  parameters: ParameterDefinitionDto[];
  derived: DerivedParameterDto[];
  outputs: OutputDefinitionDto[];
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: { oneOf: [{ type: 'number' }, { type: 'string' }] } },
  })
  x0: UserPoint[];
  budget: StudyBudgetResponseDto;
  @ApiProperty({ type: AlgorithmOptionsDto })
  algorithm: AlgorithmOptionsDto & { name: AlgorithmName; seed: number };
  @ApiProperty({ type: 'object', additionalProperties: true })
  trainingConfig: Record<string, unknown>;
  /** The study's early-stopping policy, every parameter with its value (defaults filled in). */
  @ApiProperty({ type: EarlyStoppingPolicyDto })
  earlyStopping: EarlyStoppingPolicyDto;
  /** GPU-hours the runners reported for the study's trials (each trial's latest `gpuSeconds`, summed). */
  gpuHoursUsed: number;
  /**
   * GPU-hours early stopping saved, an estimate: for each early-stopped trial, the GPU-seconds it
   * used × (1 − progress) / progress, i.e. the rest of the run at the rate it ran so far.
   */
  gpuHoursSaved: number;
  /** Completed + failed + early-stopped trials: NOMAD's blackbox evaluations. */
  @IntegerProperty()
  evaluationCount: number;
  /** Evaluations that failed (trials `failed`: told to the engine, counted in the budget). */
  @IntegerProperty()
  failedEvaluationCount: number;
  /** True when more than half of the evaluations failed: the study did not really explore its space (look at the trials' errors). */
  evaluationsMostlyFailed: boolean;
  trialCounts: TrialCountsDto;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/**
 * A study in a list: what fits a table row, every field bounded. The search space, X0, the
 * training configuration and the engine state are read one study at a time (GET /v1/studies/{id}).
 */
export class StudySummaryDto extends PickType(StudyResponseDto, [
  'id',
  'projectId',
  'requiredRunnerLabels',
  'name',
  'description',
  'status',
  'stopReason',
  'outputs',
  'budget',
  'evaluationCount',
  'failedEvaluationCount',
  'evaluationsMostlyFailed',
  'trialCounts',
  'gpuHoursUsed',
  'gpuHoursSaved',
  'createdAt',
  'updatedAt',
  'completedAt',
] as const) {
  /** Parameters of the search space. */
  @IntegerProperty()
  parameterCount: number;
  @ApiProperty({ type: AlgorithmSummaryDto })
  algorithm: AlgorithmSummaryDto;
}

export class StudyListResponseDto {
  /**
   * Up to `limit` summaries, newest first, and at most about 4 MiB of them: long descriptions and
   * many outputs or labels come fewer to a page, so the next page starts at `offset` plus the
   * items received.
   */
  items: StudySummaryDto[];
  @IntegerProperty()
  total: number;
  @IntegerProperty()
  limit: number;
  @IntegerProperty()
  offset: number;
}

/** A runner that said it cannot run the study by its own settings (docs/runner.md, "Studies a runner cannot run"). */
export class RunnerDeclineDto {
  runnerId: string;
  runnerName: string;
  /** The runner's reason (e.g. "trainData: a local path this runner does not allow: …"). */
  reason: string;
  declinedAt: string;
  /** From then on the study may be leased to that runner again (or once it registers again). */
  expiresAt: string;
}

/**
 * The declines in force of a study: runners that will not lease it meanwhile. A study that waits
 * with pending trials while every runner of its project has declined it is told here why.
 */
export class RunnerDeclineListResponseDto {
  /** The newest first. */
  items: RunnerDeclineDto[];
  /** Runners whose decline of the study is in force: the study is declined by this many (all of them, not only this page). */
  @IntegerProperty()
  total: number;
  @IntegerProperty()
  limit: number;
  @IntegerProperty()
  offset: number;
}
