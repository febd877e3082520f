/**
 * The API's response shapes the dashboard reads, taken from the OpenAPI document (api/openapi.json)
 * through the SDK's generated types: one source for the contract, so a field the API renames or
 * drops fails `npm run typecheck:dashboard` instead of drifting (issue 14).
 */
import type { components } from '../../../../../sdk/src/generated/openapi';

type Schemas = components['schemas'];

export type Study = Schemas['StudyResponseDto'];
/** A study as GET /v1/studies lists it: no search space, X0 or training config. */
export type StudySummary = Schemas['StudySummaryDto'];
export type StudyStatus = Study['status'];
export type StudyStopReason = NonNullable<Study['stopReason']>;
export type Trial = Schemas['TrialResponseDto'];
export type TrialStatus = Trial['status'];
export type TrialMetric = Schemas['TrialMetricDto'];
export type ParameterDefinition = Schemas['ParameterDefinitionDto'];
export type OutputDefinition = Schemas['OutputDefinitionDto'];
export type OutputKind = OutputDefinition['type'];
export type ParameterValue = Trial['parameters'][string];
export type Runner = Schemas['RunnerResponseDto'];
export type EngineState = Schemas['EngineStateResponseDto'];
/** GET /v1/projects: an admin key sees every project, a user key its own. */
export type Project = Schemas['ProjectResponseDto'];

/** The envelope every list route answers with. */
export type Page<T> = { items: T[]; total: number; limit: number; offset: number };
