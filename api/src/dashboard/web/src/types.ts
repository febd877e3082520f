/** The subset of the API's response shapes (api/openapi.json) the dashboard reads. */

// Statuses and stop reasons have one definition, shared with the API (one spelling of each).
import type { StudyStatus, StudyStopReason } from '../../../studies/study-status';

export type { StudyStatus, StudyStopReason };
export type TrialStatus = 'pending' | 'running' | 'completed' | 'failed' | 'stopped';
export type OutputKind = 'objective' | 'constraint_pb' | 'constraint_eb' | 'extra';
export type ParameterValue = number | string;

export interface ParameterDefinition {
  name: string;
  type: 'real' | 'integer' | 'ordinal' | 'categorical';
  lower?: number;
  upper?: number;
  log?: boolean;
  values?: ParameterValue[];
  fixed?: ParameterValue;
}

export interface OutputDefinition {
  name: string;
  type: OutputKind;
  goal?: 'minimize' | 'maximize';
}

/** GET /v1/projects: an admin key sees every project, a user key its own. */
export interface Project {
  id: string;
  name: string;
  maxActiveStudies: number | null;
  maxParallelTrials: number | null;
  activeStudies: number;
  runningTrials: number;
}

export interface Study {
  id: string;
  projectId: string;
  name: string;
  description: string | null;
  status: StudyStatus;
  stopReason: StudyStopReason | null;
  parameters: ParameterDefinition[];
  derived: { name: string; expression: string }[];
  outputs: OutputDefinition[];
  x0: Record<string, ParameterValue>[];
  budget: { maxEvaluations: number; maxParallelTrials: number; maxAttempts: number; leaseSeconds: number };
  algorithm: { name: string; seed: number };
  evaluationCount: number;
  failedEvaluationCount: number;
  evaluationsMostlyFailed: boolean;
  trialCounts: Record<TrialStatus, number>;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** A study as GET /v1/studies lists it: no search space, X0 or training config. */
export type StudySummary = Pick<
  Study,
  | 'id'
  | 'name'
  | 'description'
  | 'status'
  | 'stopReason'
  | 'outputs'
  | 'budget'
  | 'algorithm'
  | 'evaluationCount'
  | 'failedEvaluationCount'
  | 'evaluationsMostlyFailed'
  | 'trialCounts'
  | 'createdAt'
  | 'updatedAt'
  | 'completedAt'
> & { parameterCount: number };

export interface TrialMetric {
  name: string;
  step: number;
  value: number;
}

export interface Trial {
  id: string;
  studyId: string;
  number: number;
  status: TrialStatus;
  origin: string;
  parameters: Record<string, ParameterValue>;
  attempt: number;
  runnerId: string | null;
  progress: number | null;
  outputs: Record<string, number> | null;
  error: string | null;
  /** The API's reading of a completed, told result (NOMAD's rule); null until told, absent on older servers. */
  feasible?: boolean | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  lastHeartbeatAt: string | null;
  metrics?: TrialMetric[];
}

export interface Runner {
  id: string;
  name: string;
  gpus: number;
  gpuMemoryMb: number | null;
  labels: string[];
  lastSeenAt: string;
  createdAt: string;
  currentTrialIds: string[];
  health: 'healthy' | 'unhealthy' | 'quarantined';
  failureStreak: number;
  lastFailure: string | null;
  lastFailureAt: string | null;
  quarantinedAt: string | null;
  quarantineReason: string | null;
}

export interface EngineState {
  algorithm: string;
  iteration: number;
  frameSize: number[] | null;
  meshSize: number[] | null;
  stopReason: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
}
