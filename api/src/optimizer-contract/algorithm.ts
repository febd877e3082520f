/**
 * The ask/tell contract every suggestion algorithm of a study implements (MADS, random).
 *
 * Everything here lives in *engine space*: a point is a plain vector of numbers, one per
 * variable, in the variable's own units (an ordinal parameter is its integer index, a log-scale
 * real is its log10). The API translates between engine space and the user's parameters.
 * No framework or database types may appear in this file or in any algorithm.
 */

/** NOMAD's BB_INPUT_TYPE: continuous, integer, binary. */
export type VariableType = 'R' | 'I' | 'B';

export interface VariableSpec {
  type: VariableType;
  /** Finite lower bound, or null for -inf (NOMAD's LOWER_BOUND '-'). */
  lowerBound: number | null;
  /** Finite upper bound, or null for +inf. */
  upperBound: number | null;
  /** NOMAD's GRANULARITY: 0 = continuous; g > 0 = values are multiples of g. */
  granularity: number;
  /** NOMAD's FIXED_VARIABLE: when set, the variable always takes this value. */
  fixedValue: number | null;
}

/** NOMAD's BB_OUTPUT_TYPE tokens the engine understands. */
export type OutputType = 'OBJ' | 'PB' | 'EB' | 'EXTRA_O';

export interface ProblemSpec {
  variables: VariableSpec[];
  /** One entry per blackbox output, in the order results report them; exactly one OBJ. */
  outputTypes: OutputType[];
  /** Starting points (NOMAD's X0), each complete, inside the bounds, on the granularity. */
  x0: number[][];
  /** NOMAD's MAX_BB_EVAL, or null for no budget. */
  maxEvaluations: number | null;
  /** NOMAD's SEED. */
  seed: number;
}

/** Where a suggested point came from; reported on trials. */
export type SuggestionOrigin = 'x0' | 'search' | 'poll' | 'random';

export interface Suggestion {
  /** The point in engine space (full dimension, fixed variables included). */
  x: number[];
  origin: SuggestionOrigin;
}

export interface EvaluationResult {
  /** The evaluated point in engine space (full dimension). Need not have been suggested. */
  x: number[];
  /**
   * Blackbox outputs in ProblemSpec.outputTypes order, or null for a failed evaluation.
   * A NaN among the OBJ/PB/EB outputs also makes the evaluation failed (NOMAD §1.5).
   */
  outputs: number[] | null;
  /**
   * A later result for a point told before as an unsuccessful evaluation (a paused trial that was
   * resumed and ran on: docs/algorithm.md, "Early stopping: pause and resume"). Not a new
   * evaluation: it is not counted against the budget. An algorithm that keeps values takes it as a
   * late result (MADS: the barrier, the incumbent and a late success); one that does not ignores it,
   * as it ignores any result for a point already evaluated. Absent (false) otherwise.
   */
  resumed?: boolean;
  /**
   * For a failed evaluation (outputs null) of a trial stopped or paused early: with the stopping
   * policy's confidence its full-length objective would have been at least this (the stored
   * decision's lower bound; docs/algorithm.md, "Early stopping: what the models learn from a stop").
   * The evaluation stays failed for everything that decides success (barrier, incumbent, frame,
   * budget); an algorithm may use the bound in its models only, or ignore it. Absent otherwise.
   */
  censoredBelow?: number;
}

/** Why an algorithm stopped (NOMAD's stop reasons that apply to an ask/tell engine). */
export type StopReason =
  | { kind: 'MAX_BB_EVAL'; evaluations: number }
  | { kind: 'MIN_MESH_SIZE_REACHED' }
  | { kind: 'MIN_FRAME_SIZE_REACHED' }
  | { kind: 'X0_FAIL' }
  | { kind: 'USER_STOP' };

export interface SuggestionAlgorithm {
  /** Up to k new points never suggested or evaluated before; [] when none can be produced now. */
  ask(k: number): Suggestion[];
  /** Results in any order, including late ones and points the algorithm never suggested. */
  tell(results: readonly EvaluationResult[]): void;
  /** Non-null once the algorithm will never suggest anything again. */
  readonly stopReason: StopReason | null;
  /** JSON-safe state; `restore` of it continues exactly as this instance would. */
  toJSON(): unknown;
}

/**
 * The algorithms a study may use: the one list (the DTOs, the OpenAPI enums and the registry read
 * it), so a new algorithm is added in one place.
 */
export const ALGORITHM_NAMES = ['mads', 'random'] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];
