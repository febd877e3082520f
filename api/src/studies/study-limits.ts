import { MAX_STRING } from '../common/dto/parameter-value.validator';
import { MAX_CATEGORIES } from '../mads/options-validation';

/**
 * The limits of a study definition, one constant each: the DTO decorators (and so the OpenAPI
 * document), the error messages and the NOMAD parameter-file reader all read them from here, so
 * every way a study is created is held to the same bounds.
 */
export const STUDY_LIMITS = {
  /** Parameters of a study (NOMAD's DIMENSION). */
  parameters: 200,
  /** Derived parameters. */
  derived: 100,
  /** Blackbox outputs (NOMAD's BB_OUTPUT_TYPE entries). */
  outputs: 100,
  /** Starting points (NOMAD's X0 lines). */
  x0: 100,
  /** Values of an ordinal or categorical parameter: MADS polls every category, so the engine caps them. */
  values: MAX_CATEGORIES,
  /** Evaluation budget (NOMAD's MAX_BB_EVAL). */
  maxEvaluations: 1_000_000,
  /** GPU-hour budget (`budget.maxGpuHours`): about 114 GPU-years, far past any study, finite for every check. */
  maxGpuHours: 1_000_000,
  /** NOMAD's SEED (NOMAD seeds by skipping that many draws, hence the bound). */
  seed: 1_000_000,
  /** Characters of a study name. */
  nameLength: 200,
  /** Characters of a parameter, derived parameter or output name (search-space-validator's NAME_PATTERN). */
  fieldNameLength: 64,
  /** Characters of a string parameter value. */
  valueLength: MAX_STRING,
} as const;
