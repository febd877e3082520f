import type { components, paths } from './generated/openapi.js';

type Schemas = components['schemas'];

export type { components, paths };
export type Study = Schemas['StudyResponseDto'];
export type StudyStatus = Study['status'];
export type CreateStudyRequest = Schemas['CreateStudyDto'];
export type Trial = Schemas['TrialResponseDto'];
export type TrialStatus = Trial['status'];
export type Lease = Schemas['LeaseResponseDto'];
export type OutputDefinition = Schemas['OutputDefinitionDto'];
export type MetricPoint = Schemas['MetricPointDto'];
export type TrialHeartbeat = Schemas['TrialHeartbeatDto'];
export type TrialHeartbeatResponse = Schemas['TrialHeartbeatResponseDto'];
export type RegisterRunnerRequest = Schemas['RegisterRunnerDto'];
export type RegisteredRunner = Schemas['RegisteredRunnerResponseDto'];
export type ImportNomadStudyRequest = Schemas['ImportNomadStudyDto'];
export type ImportNomadStudyResult = Schemas['ImportNomadStudyResponseDto'];
/** Parameter values as runners receive them. */
export type ParameterValues = Trial['parameters'];
export type HistoryFormat = 'json' | 'csv' | 'nomad';
/** One page of the history: `items` in evaluation order, `nextCursor` for the next page (null on the last). */
export type History = Schemas['HistoryResponseDto'];
export type EngineState = Schemas['EngineStateResponseDto'];
/**
 * GPU-seconds of a trial (GPUs × wall-clock seconds of its training, measured by the runner):
 * optional on trial heartbeats (cumulative so far) and on complete/fail (the total). It is the
 * runner's claim: the API counts at most the runner's registered GPUs (one if it registered none)
 * × (seconds since its lease began × 1.1 + 60) and cuts a larger figure to that bound, so a
 * runner's GPU-seconds cannot spend a study's `budget.maxGpuHours` faster than its GPUs could
 * (docs/reliability.md, finding 47). An older API without the field rejects it (400 naming
 * `gpuSeconds`).
 */
export interface GpuSeconds {
  gpuSeconds?: number;
}
/** Where a completed trial's trained adapter lies (a path or URL), as its runner reported it. */
export type TrialAdapter = Schemas['TrialAdapterDto'];
/**
 * What a runner may report with a trial's outputs: its total GPU-seconds, the configuration it
 * trained with (`effectiveConfig`) and where it kept the adapter (`adapter`).
 */
export type CompleteTrialOptions = Omit<Schemas['CompleteTrialDto'], 'outputs'>;
/** Whose fault a failure is: `evaluation` (the point), `runner` (this machine), `resource` (out of GPU memory). */
export type FailureKind = NonNullable<Schemas['FailTrialDto']['kind']>;
export type Project = Schemas['ProjectResponseDto'];
export type CreateProjectRequest = Schemas['CreateProjectDto'];
