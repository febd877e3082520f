/** The user's view of a study's search space, as stored on the study and sent over the API. */

export const PARAMETER_TYPES = ['real', 'integer', 'ordinal', 'categorical'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export type ParameterValue = number | string;

export interface ParameterDefinition {
  name: string;
  type: ParameterType;
  /** real / integer: bounds (inclusive). */
  lower?: number;
  upper?: number;
  /** real only: optimise log10 of the value. */
  log?: boolean;
  /** real / integer: values are multiples of this step (NOMAD's GRANULARITY); on log10 for log reals. */
  granularity?: number;
  /** ordinal (ordered) / categorical (unordered): the allowed values. */
  values?: ParameterValue[];
  /** When set, the parameter always takes this value (NOMAD's FIXED_VARIABLE). */
  fixed?: ParameterValue;
}

/** A parameter computed from others, e.g. `lora_alpha = lora_alpha_multiplier * lora_rank`. */
export interface DerivedParameter {
  name: string;
  expression: string;
}

export const OUTPUT_TYPES = ['objective', 'constraint_pb', 'constraint_eb', 'extra'] as const;
export type OutputKind = (typeof OUTPUT_TYPES)[number];

export const OUTPUT_GOALS = ['minimize', 'maximize'] as const;
export type OutputGoal = (typeof OUTPUT_GOALS)[number];

/** One blackbox output; constraints are feasible when value ≤ 0 (NOMAD's PB / EB). */
export interface OutputDefinition {
  name: string;
  type: OutputKind;
  /** Objective only. */
  goal?: OutputGoal;
}

/** A point in user space: parameter name → value. */
export type UserPoint = Record<string, ParameterValue>;
