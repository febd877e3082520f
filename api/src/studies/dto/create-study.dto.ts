import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsNumber,
  IsObject,
  IsPositive,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsOmittable } from '../../common/dto/is-omittable';
import { IsInteger } from '../../common/dto/is-integer';
import { ALGORITHM_NAMES, type AlgorithmName } from '../../optimizer-contract/algorithm';
import { type DirectionType, MADS_PRESETS, type MadsPreset } from '../../mads';
import { MAX_GPU_MEMORY_MB, MAX_RUNNER_GPUS } from '../../runners/dto/register-runner.dto';
import { MAX_CALIBRATION_WINDOW, STOPPING_POLICY_KINDS, type StoppingPolicyKind } from '../../early-stopping';
import { IsBoundedJsonObject, IsUserPointList } from '../../common/dto/parameter-value.validator';
import {
  OUTPUT_GOALS,
  OUTPUT_TYPES,
  type OutputGoal,
  type OutputKind,
  type UserPoint,
} from '../../search-space/search-space';
import { STUDY_LIMITS } from '../study-limits';
import { ParameterDefinitionDto } from './parameter-definition.dto';
import { CanonicalId } from '../../common/dto/canonical-id';

export class DerivedParameterDto {
  /** Name the runner receives. */
  @IsString()
  @MaxLength(STUDY_LIMITS.fieldNameLength)
  name: string;

  /** Arithmetic over parameters: + - * / % ^, parentheses, abs ceil exp floor log log10 log2 max min pow round sqrt; ^ binds tighter than a minus (-x^2 is -(x^2)); % keeps the dividend's sign (-7 % 3 is -1). */
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  expression: string;
}

export class OutputDefinitionDto {
  /** Name the runner reports the value under. */
  @IsString()
  @MaxLength(STUDY_LIMITS.fieldNameLength)
  name: string;

  /** `objective` (exactly one), `constraint_pb` / `constraint_eb` (feasible when ≤ 0; NOMAD's PB / EB) or `extra` (recorded only). */
  @IsIn(OUTPUT_TYPES)
  type: OutputKind;

  /** Objective only; default `minimize`. */
  @IsOmittable()
  @IsIn(OUTPUT_GOALS)
  goal?: OutputGoal;
}

export class StudyBudgetDto {
  /** NOMAD's MAX_BB_EVAL: completed + failed trials. */
  @IsInteger()
  @Min(1)
  @Max(STUDY_LIMITS.maxEvaluations)
  maxEvaluations: number;

  /**
   * A budget in GPU-hours (docs/algorithm.md, "Budgets: evaluations and GPU-hours"): the study's
   * GPU-hours used are every trial's latest reported `gpuSeconds` (running trials included, each
   * bounded by its runner's GPUs × lease time). Once they reach this, no trial is leased any more
   * (new, requeued or resumed); trials already running finish and their results count, then the
   * study ends with stop reason `max_gpu_hours`. Left out: no GPU-hour cap (maxEvaluations alone).
   * Whichever of the two budgets is spent first ends the study.
   */
  // The swagger plugin documents IsPositive as `minimum: 1`: stated here, (0, limit] as checked.
  @ApiProperty({
    required: false,
    type: 'number',
    minimum: 0,
    exclusiveMinimum: true,
    maximum: STUDY_LIMITS.maxGpuHours,
  })
  @IsOmittable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(STUDY_LIMITS.maxGpuHours)
  maxGpuHours?: number;

  /** Trials running at once (default 1000, i.e. as many as runners ask for). */
  @IsOmittable()
  @IsInteger()
  @Min(1)
  @Max(10_000)
  maxParallelTrials?: number;

  /** Leases a trial may lose (runner crash, expiry) before it counts as failed (default 3). */
  @IsOmittable()
  @IsInteger()
  @Min(1)
  @Max(100)
  maxAttempts?: number;

  /** Seconds a lease lasts without a heartbeat (default from MESHTUNE_LEASE_SECONDS). */
  @IsOmittable()
  @IsInteger()
  @Min(5)
  @Max(86_400)
  leaseSeconds?: number;
}

/**
 * The direction types a study may ask for: a subset of the engine's (mads/options.ts); the API
 * does not offer `ORTHO N+1 NEG` (the engine has it for golden trace B, docs/algorithm.md).
 */
export const DIRECTION_TYPES = ['ORTHO N+1 QUAD', 'ORTHO 2N'] as const satisfies readonly DirectionType[];

export class AlgorithmOptionsDto {
  /** `mads` (NOMAD 4's Mesh Adaptive Direct Search, default) or `random` (seeded uniform sampling). */
  @IsOmittable()
  @IsIn(ALGORITHM_NAMES)
  name?: AlgorithmName;

  /** NOMAD's SEED (default 0; NOMAD seeds by skipping that many draws, hence the bound). */
  @IsOmittable()
  @IsInteger()
  @Min(0)
  @Max(STUDY_LIMITS.seed)
  seed?: number;

  /**
   * MADS: `meshtune` (default: keeps parallel runners busy with the next steps, lets late
   * successes count, restarts on the minimum mesh while budget is left) or `nomad4` (NOMAD 4's
   * behaviour, as its golden traces check); docs/algorithm.md.
   */
  @IsOmittable()
  @IsIn(MADS_PRESETS)
  preset?: MadsPreset;

  /** MADS: NOMAD's DIRECTION_TYPE (default `ORTHO N+1 QUAD`). */
  @IsOmittable()
  @IsIn(DIRECTION_TYPES)
  directionType?: (typeof DIRECTION_TYPES)[number];

  /** MADS: NOMAD's SPECULATIVE_SEARCH (default true). */
  @IsOmittable()
  @IsBoolean()
  speculativeSearch?: boolean;

  /** MADS: NOMAD's QUAD_MODEL_SEARCH (default true). */
  @IsOmittable()
  @IsBoolean()
  quadModelSearch?: boolean;

  /** MADS: NOMAD's NM_SEARCH (default true). */
  @IsOmittable()
  @IsBoolean()
  nmSearch?: boolean;

  /**
   * MADS: when a step has handed out all its points and some are still being evaluated, give
   * idle runners extra poll points instead of nothing (default true; docs/algorithm.md). With
   * false, leases wait for the results in flight (MESHTUNE_LEASE_WAIT_MS), as NOMAD's evaluator would.
   */
  @IsOmittable()
  @IsBoolean()
  fillIdle?: boolean;
}

/** How a paused trial comes back (docs/algorithm.md, "Early stopping: pause and resume"). */
export class ResumeOptionsDto {
  /** Resume the most promising paused trial after this many fresh trials in a row without improving the incumbent, ≥ 1 (default 5). */
  @ApiProperty({ required: false, type: 'integer', minimum: 1 })
  afterTrialsWithoutImprovement?: number;
}

/**
 * A study's early-stopping policy (docs/algorithm.md, "Early stopping"). Parameters not given take
 * their defaults; a parameter of another kind is rejected. Validated by the service with
 * `parseStoppingPolicy`, which names the field at fault (e.g. `earlyStopping.confidence`).
 */
export class EarlyStoppingPolicyDto {
  /** `none` (never stop), `median` (Optuna's MedianPruner) or `curve` (the default for MADS: stop a trial whose extrapolated curve cannot beat the incumbent at `confidence`). */
  @ApiProperty({ enum: STOPPING_POLICY_KINDS })
  kind: StoppingPolicyKind;

  /** curve: fraction of the run before which no trial is stopped, in (0, 1) (default 0.1). */
  @ApiProperty({ required: false, exclusiveMinimum: true, minimum: 0, exclusiveMaximum: true, maximum: 1 })
  minProgress?: number;

  /** curve: probability that a stopped trial would not have beaten the incumbent, in (0.5, 1) (default 0.95). */
  @ApiProperty({ required: false, exclusiveMinimum: true, minimum: 0.5, exclusiveMaximum: true, maximum: 1 })
  confidence?: number;

  /** curve: completed trials before any stop (their curves calibrate the extrapolation), ≥ 2 (default 3); the first this many trials are never stopped. */
  @ApiProperty({ required: false, type: 'integer', minimum: 2 })
  calibrationTrials?: number;

  /** curve: observed points of a trial's curve before a fit is trusted, ≥ 3 (default 4). */
  @ApiProperty({ required: false, type: 'integer', minimum: 3 })
  minPoints?: number;

  /** curve: calibrate on at most this many completed curves, the most recent (default 50, at most 100). */
  @ApiProperty({ required: false, type: 'integer', minimum: 2, maximum: MAX_CALIBRATION_WINDOW })
  calibrationWindow?: number;

  /**
   * curve: stopping that can be undone. An object: a trial the rule would stop is paused instead
   * (by a more aggressive rule: only X0 protected, behind the incumbent's curve from `minProgress`
   * on), told to the engine as an unsuccessful evaluation, and may be resumed later from its
   * checkpoint for its remaining steps; a resumed trial's stop is final. Needs
   * `trainingConfig.checkpointSteps` (400 naming `earlyStopping.resume` otherwise). null or absent
   * (the default): every stop is final. `{}` takes the defaults (`afterTrialsWithoutImprovement` 5).
   */
  @ApiProperty({ required: false, nullable: true, type: ResumeOptionsDto })
  resume?: ResumeOptionsDto | null;

  /**
   * curve: take stopped trials up again (opt-in, default false). At each restart of MADS on the
   * minimum mesh, and once the engine has nothing left to ask with budget left (GPU-hours, or
   * evaluations it left unspent), the most promising stopped (and, with `resume`, paused) trial runs on from its checkpoint; its
   * second stop is final, it counts once against `maxEvaluations`, its GPU-seconds add up. Needs
   * `trainingConfig.checkpointSteps` (400 naming `earlyStopping.revive` otherwise).
   */
  @ApiProperty({ required: false, type: 'boolean' })
  revive?: boolean;

  /** median: completed trials before any stop (Optuna `n_startup_trials`, default 5); the first this many trials are never stopped. */
  @ApiProperty({ required: false, type: 'integer', minimum: 0 })
  nStartupTrials?: number;

  /** median: no stop below this step (Optuna `n_warmup_steps`, default 0). */
  @ApiProperty({ required: false, type: 'integer', minimum: 0 })
  nWarmupSteps?: number;

  /** median: check at the first reported step of each interval (Optuna `interval_steps`, default 1). */
  @ApiProperty({ required: false, type: 'integer', minimum: 1 })
  intervalSteps?: number;
}

export class CreateStudyDto {
  @IsString()
  @MinLength(1)
  @MaxLength(STUDY_LIMITS.nameLength)
  name: string;

  /** null or absent: no description. */
  @ValidateIf((_object: object, value: unknown) => value !== null && value !== undefined)
  @IsString()
  @MaxLength(5000)
  description?: string;

  // The swagger plugin copies only literal decorator arguments: maxItems is stated here, from the same constant.
  @ApiProperty({ type: [ParameterDefinitionDto], minItems: 1, maxItems: STUDY_LIMITS.parameters })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(STUDY_LIMITS.parameters)
  // ValidateNested checks nothing inside an item that is an array ([[]] reached the service): items are objects.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => ParameterDefinitionDto)
  parameters: ParameterDefinitionDto[];

  /** Parameters computed from others, in order; each may use earlier ones. */
  @ApiProperty({ required: false, type: [DerivedParameterDto], maxItems: STUDY_LIMITS.derived })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(STUDY_LIMITS.derived)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => DerivedParameterDto)
  derived?: DerivedParameterDto[];

  @ApiProperty({ type: [OutputDefinitionDto], minItems: 1, maxItems: STUDY_LIMITS.outputs })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(STUDY_LIMITS.outputs)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => OutputDefinitionDto)
  outputs: OutputDefinitionDto[];

  /** Starting points (NOMAD's X0) in user values; default: the middle of every range. */
  @ApiProperty({
    required: false,
    type: 'array',
    maxItems: STUDY_LIMITS.x0,
    items: { type: 'object', additionalProperties: { oneOf: [{ type: 'number' }, { type: 'string' }] } },
  })
  @IsOmittable()
  @ArrayMaxSize(STUDY_LIMITS.x0)
  @Validate(IsUserPointList)
  x0?: UserPoint[];

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => StudyBudgetDto)
  budget: StudyBudgetDto;

  @IsOmittable()
  @IsObject()
  @ValidateNested()
  @Type(() => AlgorithmOptionsDto)
  algorithm?: AlgorithmOptionsDto;

  /**
   * Early stopping of trials whose learning curve (the heartbeats' metric named like the objective)
   * shows they cannot be of use. Default: `{ "kind": "curve" }` for MADS, `{ "kind": "none" }` for
   * random search and NOMAD imports.
   */
  @ApiProperty({ required: false, type: EarlyStoppingPolicyDto })
  @IsOmittable()
  @IsObject()
  earlyStopping?: Record<string, unknown>;

  /**
   * JSON handed to runners with each trial: model, data paths, epochs, batch sizes, metric… (the
   * Python runner's schema: docs/runner.md). Stored as given but for `checkpointSteps`, which the
   * API reads (`earlyStopping.resume` and `revive` need it): a whole number from 1 to 2147483647, or
   * null; 400 naming `trainingConfig.checkpointSteps` otherwise.
   */
  @ApiProperty({ required: false, type: Object, additionalProperties: true })
  @IsOmittable()
  @IsObject()
  @Validate(IsBoundedJsonObject)
  trainingConfig?: Record<string, unknown>;

  /**
   * The project the study belongs to: only an admin key may name one (default: the default
   * project); a user key's studies go to its own project.
   */
  @IsOmittable()
  @CanonicalId()
  @IsUUID('all')
  projectId?: string;

  /** Only runners that registered every one of these labels (e.g. `a100`, `80g`) lease its trials. */
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(100, { each: true })
  requiredRunnerLabels?: string[];

  /** Only runners that registered at least this many GPUs lease its trials. */
  @IsOmittable()
  @IsInteger()
  @Min(1)
  @Max(MAX_RUNNER_GPUS)
  requiredRunnerGpus?: number;

  /**
   * Only runners that registered at least this much memory per GPU (`gpuMemoryMb`, MiB) lease its
   * trials; a runner that registered none does not qualify.
   */
  @IsOmittable()
  @IsInteger()
  @Min(1)
  @Max(MAX_GPU_MEMORY_MB)
  requiredRunnerGpuMemoryMb?: number;
}
