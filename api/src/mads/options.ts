/**
 * MADS options: the NOMAD parameters (NOMAD 4.5.1, src/Attribute/*.txt) that this engine exposes,
 * with NOMAD's defaults unless stated.
 */
import type { FrameRounding } from './mesh';

export const DIRECTION_TYPES = ['ORTHO N+1 QUAD', 'ORTHO N+1 NEG', 'ORTHO 2N'] as const;
export type DirectionType = (typeof DIRECTION_TYPES)[number];
export type EvalQueueSort = 'QUADRATIC_MODEL' | 'DIR_LAST_SUCCESS';
/**
 * Named behaviour sets (docs/algorithm.md, "Presets"): 'meshtune' (default) adds the
 * asynchronous pipeline, late successes and restarts; 'nomad4' is NOMAD 4.5.1's MADS as the
 * golden traces check it (with meshtune's idle filling, which a sequential run never sees).
 */
export const MADS_PRESETS = ['meshtune', 'nomad4'] as const;
export type MadsPreset = (typeof MADS_PRESETS)[number];
/** `surrogateSearch`: off, always, or only in sequential use (docs/algorithm.md, "Surrogate search"). */
export type SurrogateSearchMode = boolean | 'sequential';
/**
 * `quadModelFit`: how the quadratic models are fitted (model/quadratic.ts): 'prs' is sgtelib's
 * least squares with a ridge (NOMAD's); 'minNorm' interpolates with the minimum-Frobenius-norm
 * Hessian while there are fewer points than monomials (docs/algorithm.md, "Presets").
 */
export const QUAD_MODEL_FITS = ['prs', 'minNorm'] as const;
export type QuadModelFit = (typeof QUAD_MODEL_FITS)[number];

export interface MadsOptions {
  /**
   * Sets the defaults of `pipelineIterations`, `lateSuccess` and `restartOnMinMesh` (options
   * given explicitly win). Stored states without it are 'nomad4' (what they were created with).
   */
  preset: MadsPreset;
  /**
   * With points in flight and nothing left to hand out, the running step is released and the
   * engine goes on to the next step (what a sequential MADS would evaluate next if the pending
   * points fail), up to this many earlier iterations still awaiting results; 0 = off
   * (docs/algorithm.md, "Asynchronous ask/tell").
   */
  pipelineIterations: number;
  /**
   * A result that arrives after its step was released (or from idle filling) and is a FULL
   * success ends the running step at once, restoring the frame of the iteration that
   * generated it before enlarging it, as a sequential MADS would have.
   */
  lateSuccess: boolean;
  /**
   * When the mesh reaches its minimum (or no new poll point exists) and `maxEvaluations`
   * leaves evaluations, restart the frame at its initial size around the incumbent instead
   * of stopping; stops after 3 restarts in a row that produced no new point.
   */
  restartOnMinMesh: boolean;
  /**
   * Surrogate search (search/surrogate.ts, docs/algorithm.md): a Gaussian-process search step
   * over the whole box, one point per iteration after the speculative search, while fewer than
   * `surrogateSearchFactor`·(n+1) evaluations are done (from 2(n+1) on); `true`: with points in
   * flight it also runs and fills idle runners (at any budget); 'sequential': only while no
   * point is in flight, no idle filling (the meshtune default on integer and binary spaces).
   */
  surrogateSearch: SurrogateSearchMode;
  /** Budget, in simplex gradients (n+1 evaluations), during which the surrogate step runs (0–10000). */
  surrogateSearchFactor: number;
  /**
   * Idle filling (`fillIdle`): per step, up to this many points from the quadratic model
   * minimised in trust regions of other sizes than the current frame's (those of the next
   * iterations after a refinement or an enlargement), before further poll directions
   * (docs/algorithm.md, "Asynchronous ask/tell"); 0 = off.
   */
  modelIdlePoints: number;
  /** The model points go to idle runners before the pipeline releases the waiting step. */
  modelIdleFirst: boolean;
  /**
   * Idle filling (`fillIdle`), opt-in (0 = off): once more than 2n points are in flight, per step
   * up to this many points from the surrogate search's Gaussian process over the whole box go
   * to idle runners before fresh poll bases (engine.ts `nextSurrogateIdleCandidate`,
   * docs/algorithm.md "Asynchronous ask/tell"); 0–16.
   */
  idleSurrogatePoints: number;
  /**
   * Idle filling (`fillIdle`), opt-in (0 = off): past X0, the fresh ORTHO 2N bases drawn for idle
   * runners are polls of the frames the next iterations have if the pending points fail, the k-th
   * basis of a step (k = 0, 1, …) on the frame refined 1 + (k mod r) times, instead of the current
   * frame (engine.ts `idleBaseRefinements`, docs/algorithm.md "Asynchronous ask/tell"); 0–4.
   */
  idleFrameRefinements: number;
  /**
   * With points in flight, `ask` keeps at most this many simplex gradients (·(n+1) points, at
   * least 2) in flight and returns fewer points beyond, leaving runners idle (docs/algorithm.md,
   * "Asynchronous ask/tell"); 0 = no cap (0–100). Opt-in: it trades wall-clock rounds for
   * quality per evaluation.
   */
  maxInFlight: number;
  /**
   * With points in flight, an iteration that ends without a success while points of its steps are
   * still out refines the frame on the assumption that they fail; at most this many such
   * refinements may await their evidence at once, further ones wait until the points they assume
   * failed have all come back (none a success; a late success drops them). 16 = no limit (the
   * pipeline's own depth bounds them, the nomad4 preset); 0–16, meshtune preset 2 (docs/algorithm.md,
   * "Asynchronous ask/tell").
   */
  refineAhead: number;
  /** DIRECTION_TYPE (default ORTHO N+1 QUAD, §3.4). */
  directionType: DirectionType;
  /** DIRECTION_TYPE_SECONDARY_POLL DOUBLE on the infeasible incumbent (§3.2); false = none. */
  secondaryPoll: boolean;
  /** SPECULATIVE_SEARCH (§4.1). */
  speculativeSearch: boolean;
  /** SPECULATIVE_SEARCH_MAX. */
  speculativeSearchMax: number;
  /** SPECULATIVE_SEARCH_BASE_FACTOR (> 1). */
  speculativeSearchBaseFactor: number;
  /** QUAD_MODEL_SEARCH (§4.3); switched off automatically when n ≥ 50. */
  quadModelSearch: boolean;
  /** QUAD_MODEL_BOX_FACTOR. */
  quadModelBoxFactor: number;
  /** QUAD_MODEL_MAX_EVAL: model evaluations per model optimisation. */
  quadModelMaxEval: number;
  /**
   * 'prs' (NOMAD: sgtelib PRS, ridge when underdetermined, training set of n points until
   * (n+1)(n+2)/2 exist) or 'minNorm' (meshtune: every usable point while fewer than (n+1)(n+2)/2
   * exist, minimum-Frobenius-norm interpolation; least squares as 'prs' from then on).
   */
  quadModelFit: QuadModelFit;
  /**
   * meshtune extension: the quadratic-model search minimises its model only within
   * QUAD_MODEL_BOX_FACTOR/2 frame sizes of the incumbent (and the bounds) instead of over the
   * training points' bounding box (docs/algorithm.md, "Options").
   */
  quadSearchTrustRegion: boolean;
  /**
   * meshtune extension: a success enlarges a variable's frame only while it is below half the
   * variable's range (docs/algorithm.md, "Options"); false = NOMAD's unbounded enlargement.
   */
  boundedFrame: boolean;
  /**
   * meshtune extension (meshtune preset 20, nomad4 0): from 5(n+1) evaluations and while fewer than
   * factor·(n+1) are done, with no point in flight, the Nelder–Mead slot of each iteration first
   * holds quadratic-model points; NM runs after them only when they fail (0 = off;
   * docs/algorithm.md, "Options").
   */
  nmModelFactor: number;
  /** NM_SEARCH (§4.2). */
  nmSearch: boolean;
  /** NM_SEARCH_MAX_TRIAL_PTS_NFACTOR: cap of NM points per search = factor·n; 0 = no cap (Appendix D #3). */
  nmMaxTrialPointsNFactor: number;
  /** EVAL_OPPORTUNISTIC (§3.7). */
  opportunistic: boolean;
  /** EVAL_QUEUE_SORT (§3.6). */
  evalQueueSort: EvalQueueSort;
  /** ANISOTROPIC_MESH (§2.3). */
  anisotropicMesh: boolean;
  /** ANISOTROPY_FACTOR (§2.3). */
  anisotropyFactor: number;
  /** INITIAL_FRAME_SIZE per variable (full dimension; null entries or null = §2.2 default). */
  initialFrameSize: (number | null)[] | null;
  /** MIN_MESH_SIZE per variable (full dimension; null entries = default g or 0, §2.2). */
  minMeshSize: (number | null)[] | null;
  /** MIN_FRAME_SIZE per variable (full dimension; null entries = default g or 0). */
  minFrameSize: (number | null)[] | null;
  /**
   * meshtune extension, opt-in (0 = off, NOMAD's behaviour): a bounded continuous variable
   * without its own `minMeshSize` gets this fraction of its range (upper − lower) as minimum
   * mesh size, so that under `restartOnMinMesh` the frame restarts once the continuous variables
   * are that fine instead of 50 mesh indices down (docs/algorithm.md, "Options").
   */
  minMeshFraction: number;
  /** How Δ0 becomes (a, b0): 'nomad' truncation quirk (default) or 'floor' (Appendix D #1). */
  frameRounding: FrameRounding;
  /** H_MAX_0 (> 0; Infinity by default). */
  hMax0: number;
  /**
   * Keep idle runners busy: when the current step has nothing left to hand out but points are
   * still being evaluated, `ask` returns extra poll points (docs/algorithm.md). Never triggers
   * when every `ask` follows the previous `tell`.
   */
  fillIdle: boolean;
  /**
   * Indices of integer variables that encode *unordered* categories (meshtune extension, not in
   * NOMAD 4): every poll also tries the centre with each other category (docs/algorithm.md).
   */
  categoricalVariables: number[];
  /**
   * meshtune extension: the models (surrogate search, quadratic models) take a point stopped early
   * as a censored observation — its objective at least `EvaluationResult.censoredBelow` — instead of
   * leaving it out; the barrier, the incumbent and success never see it (docs/algorithm.md, "Early
   * stopping: what the models learn from a stop"). NOMAD has no such input (nomad4: false).
   */
  censoredModels: boolean;
}

export const DEFAULT_MADS_OPTIONS: Readonly<MadsOptions> = Object.freeze({
  preset: 'meshtune',
  pipelineIterations: 4,
  lateSuccess: true,
  restartOnMinMesh: true,
  // Continuous spaces; presetDefaults switches it on for integer, ordinal and mixed spaces
  // (bench:engine, docs/benchmarks.md: no gain on continuous ones, ~27 ms per search at n = 5).
  surrogateSearch: false,
  surrogateSearchFactor: 20,
  modelIdlePoints: 0,
  modelIdleFirst: false,
  idleSurrogatePoints: 0,
  // Opt-in (docs/benchmarks.md, "Results: the next iterations' polls for idle runners").
  idleFrameRefinements: 0,
  // Opt-in: 16 runners capped at 2(n+1) in flight lost fewer runs per evaluation but needed more
  // rounds (docs/benchmarks.md, 2026-12-04 evening).
  maxInFlight: 0,
  // 16 runners refined ahead of their results: at most 2 iterations may (docs/benchmarks.md,
  // 2026-12-04 night); nomad4 keeps 16, no limit.
  refineAhead: 2,
  directionType: 'ORTHO N+1 QUAD',
  secondaryPoll: true,
  speculativeSearch: true,
  speculativeSearchMax: 1,
  speculativeSearchBaseFactor: 4,
  quadModelSearch: true,
  quadModelBoxFactor: 4,
  quadModelMaxEval: 2000,
  // Opt-in: 'minNorm' gained at 10–100(n+1) sequentially but lost with 4 and 16 runners in flight
  // (docs/benchmarks.md, 2026-12-04 morning).
  quadModelFit: 'prs',
  quadSearchTrustRegion: false,
  boundedFrame: false,
  // Sequential studies only (no point in flight): over 130 runs of four problem sets it solved
  // +4 / +9 / +3 / +2 runs at 10 / 20 / 50 / 100(n+1), with 2 losses at 50–100(n+1) on one set
  // (docs/benchmarks.md, "Results: bench:engine at the end of the 2026-12-04 night session").
  // nomad4 keeps 0; stored states without the key restore with 0 (serialization.ts), so a running
  // study continues as it was.
  nmModelFactor: 20,
  nmSearch: true,
  nmMaxTrialPointsNFactor: 80,
  opportunistic: true,
  evalQueueSort: 'QUADRATIC_MODEL',
  anisotropicMesh: true,
  anisotropyFactor: 0.1,
  initialFrameSize: null,
  minMeshSize: null,
  minFrameSize: null,
  minMeshFraction: 0,
  frameRounding: 'nomad',
  hMax0: Infinity,
  fillIdle: true,
  categoricalVariables: [],
  censoredModels: false,
} satisfies MadsOptions);

/** What the 'nomad4' preset changes in the defaults (also what a stored state without these keys had). */
export const NOMAD4_PRESET: Readonly<
  Pick<
    MadsOptions,
    | 'preset'
    | 'pipelineIterations'
    | 'lateSuccess'
    | 'restartOnMinMesh'
    | 'surrogateSearch'
    | 'modelIdlePoints'
    | 'modelIdleFirst'
    | 'quadModelFit'
    | 'quadSearchTrustRegion'
    | 'boundedFrame'
    | 'refineAhead'
    | 'nmModelFactor'
    | 'censoredModels'
  >
> = Object.freeze({
  preset: 'nomad4',
  pipelineIterations: 0,
  lateSuccess: false,
  restartOnMinMesh: false,
  surrogateSearch: false,
  modelIdlePoints: 0,
  modelIdleFirst: false,
  quadModelFit: 'prs',
  quadSearchTrustRegion: false,
  boundedFrame: false,
  refineAhead: 16,
  nmModelFactor: 0,
  censoredModels: false,
});

/**
 * The defaults of a preset for a problem. The meshtune preset switches the surrogate search on
 * in sequential use where a variable is integer or binary (integer, ordinal, mixed spaces):
 * there it solved more bench:engine runs at 10–100(n+1) evaluations and fewer nowhere; on
 * continuous spaces, and with points in flight, it was not better across the board. On
 * continuous spaces it gives idle runners one quadratic-model point per step first: with 4 and
 * 16 runners that cut the per-evaluation loss against a sequential run, while on the
 * mixed-integer problem it lost runs (docs/algorithm.md, "Presets"; docs/benchmarks.md).
 */
export function presetDefaults(preset: MadsPreset, variableTypes: readonly string[] = []): MadsOptions {
  if (preset === 'nomad4') return { ...DEFAULT_MADS_OPTIONS, ...NOMAD4_PRESET };
  const discrete = variableTypes.some((t) => t === 'I' || t === 'B');
  return {
    ...DEFAULT_MADS_OPTIONS,
    surrogateSearch: discrete ? 'sequential' : false,
    // Continuous spaces: one quadratic-model point per step for idle runners, before the pipeline
    // moves on (docs/algorithm.md, "Presets").
    modelIdlePoints: discrete ? 0 : 1,
    modelIdleFirst: !discrete,
  };
}
