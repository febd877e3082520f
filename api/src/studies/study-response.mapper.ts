import type { StudyResponseDto, StudySummaryDto, TrialCountsDto } from './dto/study-response.dto';
import { evaluationsMostlyFailed } from './study-status';
import type { Study } from './study.entity';

export const EMPTY_TRIAL_COUNTS: TrialCountsDto = {
  pending: 0,
  running: 0,
  completed: 0,
  failed: 0,
  stopped: 0,
  paused: 0,
};

/** What a study's response sums over its trials (StudiesService.trialTotals). */
export interface StudyTrialTotals {
  counts: TrialCountsDto;
  gpuSecondsUsed: number;
  /** Estimated: see StudyResponseDto.gpuHoursSaved. */
  gpuSecondsSaved: number;
}

export function emptyTrialTotals(): StudyTrialTotals {
  return { counts: { ...EMPTY_TRIAL_COUNTS }, gpuSecondsUsed: 0, gpuSecondsSaved: 0 };
}

const hours = (seconds: number): number => seconds / 3600;

export function toStudyResponse(study: Study, totals: StudyTrialTotals): StudyResponseDto {
  const trialCounts = totals.counts;
  return {
    id: study.id,
    projectId: study.projectId,
    requiredRunnerLabels: study.requiredRunnerLabels,
    requiredRunnerGpus: study.requiredRunnerGpus,
    requiredRunnerGpuMemoryMb: study.requiredRunnerGpuMemoryMb,
    name: study.name,
    description: study.description,
    status: study.status,
    stopReason: study.stopReason,
    parameters: study.parameters,
    derived: study.derived,
    outputs: study.outputs,
    x0: study.x0,
    budget: {
      maxEvaluations: study.maxEvaluations,
      maxGpuHours: study.maxGpuHours,
      maxParallelTrials: study.maxParallelTrials,
      maxAttempts: study.maxAttempts,
      leaseSeconds: study.leaseSeconds,
    },
    algorithm: { ...study.algorithmOptions, name: study.algorithm, seed: study.seed },
    trainingConfig: study.trainingConfig,
    earlyStopping: study.earlyStopping,
    gpuHoursUsed: hours(totals.gpuSecondsUsed),
    gpuHoursSaved: hours(totals.gpuSecondsSaved),
    evaluationCount: study.evaluationCount,
    failedEvaluationCount: trialCounts.failed,
    evaluationsMostlyFailed: evaluationsMostlyFailed(trialCounts.failed, study.evaluationCount),
    trialCounts,
    createdAt: study.createdAt.toISOString(),
    updatedAt: study.updatedAt.toISOString(),
    completedAt: study.completedAt?.toISOString() ?? null,
  };
}

/** The columns a study summary is made of: never the search space, X0, training config or engine state. */
export const STUDY_SUMMARY_COLUMNS = [
  'id',
  'projectId',
  'requiredRunnerLabels',
  'name',
  'description',
  'status',
  'stopReason',
  'outputs',
  'maxEvaluations',
  'maxGpuHours',
  'maxParallelTrials',
  'maxAttempts',
  'leaseSeconds',
  'algorithm',
  'seed',
  'evaluationCount',
  'createdAt',
  'updatedAt',
  'completedAt',
] as const satisfies readonly (keyof Study)[];

/** A study summary's row: its columns (STUDY_SUMMARY_COLUMNS) and the size of its search space. */
export type StudySummaryRow = Pick<Study, (typeof STUDY_SUMMARY_COLUMNS)[number]> & { parameterCount: number };

export function toStudySummary(study: StudySummaryRow, totals: StudyTrialTotals): StudySummaryDto {
  const trialCounts = totals.counts;
  return {
    id: study.id,
    projectId: study.projectId,
    requiredRunnerLabels: study.requiredRunnerLabels,
    name: study.name,
    description: study.description,
    status: study.status,
    stopReason: study.stopReason,
    parameterCount: study.parameterCount,
    outputs: study.outputs,
    budget: {
      maxEvaluations: study.maxEvaluations,
      maxGpuHours: study.maxGpuHours,
      maxParallelTrials: study.maxParallelTrials,
      maxAttempts: study.maxAttempts,
      leaseSeconds: study.leaseSeconds,
    },
    algorithm: { name: study.algorithm, seed: study.seed },
    evaluationCount: study.evaluationCount,
    failedEvaluationCount: trialCounts.failed,
    evaluationsMostlyFailed: evaluationsMostlyFailed(trialCounts.failed, study.evaluationCount),
    trialCounts,
    gpuHoursUsed: hours(totals.gpuSecondsUsed),
    gpuHoursSaved: hours(totals.gpuSecondsSaved),
    createdAt: study.createdAt.toISOString(),
    updatedAt: study.updatedAt.toISOString(),
    completedAt: study.completedAt?.toISOString() ?? null,
  };
}
