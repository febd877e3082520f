/**
 * The engine's internal state. Everything here round-trips through JSON
 * (see serialization.ts); the class in mads.ts is a thin shell around it.
 */
import type { ProblemSpec, StopReason, SuggestionOrigin } from '../optimizer-contract/algorithm';
import type { BarrierState, FH } from './barrier';
import type { EvaluationCache } from './cache';
import type { MeshState } from './mesh';
import type { MadsOptions } from './options';
import type { EncodedNumber } from '../math/numerics';
import type { NomadRng } from '../math/rng';
import type { Space } from './space';

/** A trial point waiting in a step's queue. */
export interface Candidate {
  x: number[];
  /** pointFrom (§5.2): id of the frame centre. */
  fromId: number;
  origin: SuggestionOrigin;
}

/** Generators of trial points, in NOMAD's order within an iteration (§0, §4). */
export type StepKind = 'x0' | 'global' | 'speculative' | 'surrogate' | 'quad' | 'nm' | 'poll1' | 'poll2';

export interface Step {
  id: number;
  kind: StepKind;
  /** Undispatched points, highest priority first (§3.6). */
  queue: Candidate[];
  /** Ids handed out by ask() for this step. */
  dispatched: number[];
  /** Ids of this step whose results arrived while the step was running. */
  returned: number[];
  opportunistic: boolean;
  /** Some returned point was a FULL success against the step-start barrier (§5.1 use 1). */
  fullSuccess: boolean;
  /** ORTHO N+1: displacements (free coordinates) of the n first-pass directions (§3.4). */
  firstPass: number[][] | null;
  /** ORTHO N+1: id of the primary poll centre. */
  centreId: number;
  /** ORTHO N+1: the n directions dropped by the reduction, handed to idle runners. */
  spare: Candidate[];
  /** Barrier at the start of the step: its points are judged against it (§5.1 use 1). */
  startFeas: number | null;
  startInf: number | null;
  startHMax: EncodedNumber;
  /**
   * Released with points still in flight (pipeline, docs/algorithm.md): the step counts as
   * finished once its queue is empty; its pending points come back as late results.
   */
  released?: boolean;
  /** A quadratic-model step run in Nelder–Mead's place (`nmModelFactor`): the iteration goes on after NM. */
  inNmSlot?: boolean;
}

/** One MegaIteration as the pipeline tracks it while its points are in flight (pipeline.ts). */
export interface Flight {
  iteration: number;
  /** Id of the first step of the iteration: a point's iteration follows from its step id. */
  firstStepId: number;
  /** The mesh after the iteration's frame update: restored when a late success of it arrives. */
  mesh: MeshState;
  /** Points of this iteration handed out and not told yet. */
  pending: number;
  /** `refineAhead`: ids of this iteration's step points (not idle filling) not told yet. */
  awaited?: number[];
  /** `refineAhead`: this iteration's end refined the frame before `awaited` came back. */
  refinedAhead?: boolean;
  /** `refineAhead`: refinements this iteration's end owes the frame, paid once `awaited` is empty. */
  deferredRefines?: number;
}

/** Restarts on the minimum mesh (restart.ts). */
export interface RestartState {
  count: number;
  /** Cache size at the last restart: a restart that adds no point is fruitless. */
  cacheSize: number;
  /** Fruitless restarts in a row. */
  fruitless: number;
  /** The next iteration starts with a global search step (search/global.ts). */
  globalPending?: boolean;
  /**
   * The pending global step samples on the granularity (the finest mesh), not on the restarted
   * mesh: the last try before a stop (restart.ts). Absent in states stored before it: false.
   */
  fineGlobal?: boolean;
  /** A fine global step was given since the last restart that found a new point. */
  fineGlobalTried?: boolean;
}

/** The Nelder-Mead search's phases (reflect, expand, outside and inside contraction). */
export type NmPhase = 'reflect' | 'expand' | 'oc' | 'ic';

/** The state of a Nelder-Mead search in progress (search/nelder-mead.ts), kept with the engine's. */
export interface NmState {
  /** Simplex record ids in NM order (best first). */
  simplex: number[];
  centreId: number;
  phase: NmPhase;
  /** The evaluated reflect point of the current NM iteration. */
  reflectId: number;
  trials: number;
  fullSuccess: boolean;
}

export interface EngineState {
  problem: ProblemSpec;
  options: MadsOptions;
  space: Space;
  rng: NomadRng;
  mesh: MeshState;
  cache: EvaluationCache;
  barrier: BarrierState;
  /** Phase One (§5.5): no point with h < ∞ yet; the barrier works on Σ max(c_EB, 0)². */
  phaseOne: boolean;
  /** MegaIteration counter (0 during X0 evaluation). */
  iteration: number;
  step: Step | null;
  stepCounter: number;
  /** Kind of the next step of the current iteration. */
  nextKind: StepKind | null;
  /** Results told outside the running step, merged into the barrier at the next boundary (E.2). */
  lateIds: number[];
  /** DIR_LAST_SUCCESS directions (§3.6, §5.1 use 2), free coordinates. */
  lastDirFeas: number[] | null;
  lastDirInf: number[] | null;
  nm: NmState | null;
  /** ORTHO N+1 second pass still to generate (§3.4). */
  pendingSecondPass: { centreId: number; firstPass: number[][] } | null;
  /** Points handed to idle runners (docs/algorithm.md, "keeping runners busy"). */
  extra: Candidate[];
  /** Fresh idle-filling bases drawn in this MegaIteration. */
  extraBases: number;
  /** Surrogate points handed to idle runners since the last step started (search/surrogate.ts). */
  surrogateIdle?: number;
  /** Quadratic-model points handed to idle runners since the last step started (`modelIdlePoints`). */
  modelIdle?: number;
  /**
   * Iteration whose Nelder–Mead slot already held its quadratic-model points (`nmModelFactor`):
   * the NM search follows them in that iteration. Absent until the first such step.
   */
  nmSlotModelIteration?: number;
  evaluations: number;
  inFlight: number;
  stop: StopReason | null;
  /** Consecutive iterations that produced no new point (guard against endless cache hits). */
  emptyIterations: number;
  /** Whether the current iteration produced any new point. */
  iterationProducedPoints: boolean;
  /** Iterations with points in flight, oldest first; the last is the current one (pipeline.ts). */
  flights: Flight[];
  restart: RestartState;
}

/** (f, h) as the barrier sees a record: Phase One substitutes (Σ max(c_EB,0)², 0). */
export function fhOf(state: EngineState, id: number | undefined | null): FH | null {
  if (id === undefined || id === null) return null;
  const rec = state.cache.get(id);
  if (rec === undefined || rec.status !== 'ok') return null;
  return state.phaseOne ? { f: rec.phaseOneF, h: 0 } : { f: rec.f, h: rec.h };
}

/**
 * False in an iteration that follows one which produced no new point (every candidate of every
 * step already in the cache): the model searches and the QUAD second pass then stand down until
 * an iteration produces a point or a restart widens the frame (it resets the count). Why: such
 * runs of empty iterations happen where the mesh can no longer change — an integer or granular
 * space whose neighbourhood of the incumbent is exhausted — so the models, fitted on the same
 * cache, only find the same cached points again; yet each of them ran an inner MADS of up to
 * `quadModelMaxEval` model evaluations, and one `ask` went through 10 such iterations per restart
 * (200 under the nomad4 preset): 0.5–1.6 s of CPU on a 2-variable integer study, 5–13 s when
 * the outputs were extreme (docs/algorithm.md, "Cost of the models"). The poll still runs, so a
 * new point is found as before when there is one.
 */
export function modelsMayProposeNewPoints(state: EngineState): boolean {
  return state.emptyIterations === 0;
}
