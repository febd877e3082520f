/**
 * The MADS state machine (NOMAD 4.5.1, src/Algos/Mads/Mads.cpp, MadsMegaIteration.cpp,
 * MadsIteration.cpp; docs/algorithm.md, "What the engine does"): X0 → [MegaIteration: mesh update,
 * stop test → search methods → poll (first pass, second pass)] …, driven by ask/tell.
 */
import { Success, computeSuccessType, emptyBarrier, refreshIncumbents, updateWithPoints } from './barrier';
import { isFeasible } from './evaluation';
import { decodeNumber, encodeNumber } from '../math/numerics';
import { checkMeshForStopping, enlarge, refine } from './mesh';
import { generatePoll, generateSecondPass, pointsFromDirections, pollCentres } from './poll';
import { ortho2nDirections } from './directions';
import { sortCandidates } from './ordering';
import { nmFinishStep, nmStartSearch } from './search/nelder-mead';
import { quadIdleCandidate, quadSearchCandidates } from './search/quad-model';
import { speculativeCandidates } from './search/speculative';
import { globalCandidates } from './search/global';
import { surrogateCandidates } from './search/surrogate';
import { beginFlight, deferRefinement } from './pipeline';
import { tryRestart } from './restart';
import { cacheKey, toFree } from './space';
import { newStep } from './step';
import { fhOf, modelsMayProposeNewPoints, type Candidate, type EngineState, type Step, type StepKind } from './state';

/** Iterations in a row without a single new point before the engine gives up (all cache hits). */
const MAX_EMPTY_ITERATIONS = 200;
/**
 * The same with `restartOnMinMesh`: a restart with a wider frame is the better next move, and
 * each empty iteration still costs a model search.
 */
const MAX_EMPTY_ITERATIONS_BEFORE_RESTART = 10;
/** Safety bound on the steps advanced within one call. */
const MAX_ADVANCES_PER_CALL = 5000;

const ITERATION_ORDER: StepKind[] = ['global', 'speculative', 'surrogate', 'quad', 'nm', 'poll1', 'poll2'];

/**
 * Cache size at which each step's queue was last checked (the cache only ever grows, and a queue
 * only loses entries, so an unchanged size means nothing to purge), and each queued candidate's
 * cache key. Why: at n = 200 a poll queue holds 400 points and rebuilding their keys on every
 * `isStepFinished` was 70 % of a study's engine time (docs/algorithm.md, "Cost of the models").
 * Not state: a restored engine starts with empty maps and checks once.
 */
const queueCheckedAtSize = new WeakMap<Step, number>();
const candidateKeys = new WeakMap<Candidate, string>();

function keyOf(c: Candidate): string {
  let key = candidateKeys.get(c);
  if (key === undefined) {
    key = cacheKey(c.x);
    candidateKeys.set(c, key);
  }
  return key;
}

export function purgeQueue(state: EngineState, step: Step): void {
  if (queueCheckedAtSize.get(step) === state.cache.size) return;
  const inCache = (c: Candidate): boolean => state.cache.hasKey(keyOf(c));
  if (step.queue.some(inCache)) step.queue = step.queue.filter((c) => !inCache(c));
  queueCheckedAtSize.set(step, state.cache.size);
}

export function isStepFinished(state: EngineState, step: Step): boolean {
  purgeQueue(state, step);
  if (step.opportunistic && step.fullSuccess) return true;
  if (step.released === true && step.queue.length === 0) return true;
  return step.queue.length === 0 && step.returned.length === step.dispatched.length;
}

/** Success of one evaluated point against the barrier at the start of its step (§5.1 use 1). */
export function pointSuccess(state: EngineState, step: Step, id: number): Success {
  const p = fhOf(state, id);
  if (p === null) return Success.UNDEFINED;
  const ref = fhOf(state, isFeasible(p.h) ? step.startFeas : step.startInf);
  return computeSuccessType(p, ref, decodeNumber(step.startHMax));
}

/** Advance the machine until a step has points to hand out, the step waits for results, or a stop. */
export function advance(state: EngineState): void {
  for (let guard = 0; guard < MAX_ADVANCES_PER_CALL; guard++) {
    if (state.stop !== null) return;
    const step = state.step;
    if (step !== null && !isStepFinished(state, step)) return;
    if (step !== null) finishStep(state, step);
    if (state.stop !== null) return;
    // An NM search continues with its next point (finishStep set it).
    if (state.step === null) startNextStep(state);
  }
  state.stop = { kind: 'MIN_MESH_SIZE_REACHED' };
}

function allOkIds(state: EngineState): number[] {
  return state.cache.records.filter((r) => r.status === 'ok').map((r) => r.id);
}

function fh(state: EngineState): (id: number) => ReturnType<typeof fhOf> {
  return (id) => fhOf(state, id);
}

/**
 * Merge late results into the barrier (E.2) and leave Phase One once a point has h < ∞ (§5.5).
 * Called after every tell, so a late result can become the incumbent at once; the running
 * step keeps judging its own points against its start barrier.
 */
export function mergeLate(state: EngineState): void {
  if (state.phaseOne && state.cache.records.some((r) => r.status === 'ok' && r.h < Infinity)) {
    state.phaseOne = false;
    const refs = { refFeas: null, refInf: null };
    state.barrier = { ...emptyBarrier(state.options.hMax0), ...refs };
    updateWithPoints(state.barrier, allOkIds(state), fh(state), true);
    state.lateIds = [];
    rebaseRunningStep(state);
    return;
  }
  if (state.lateIds.length > 0) {
    const late = state.lateIds;
    state.lateIds = [];
    updateWithPoints(state.barrier, late, fh(state), true);
  }
}

/**
 * Phase One ended while a step was running (a late result, or a resumed value, satisfied the EB
 * constraints first): the step's start references are Phase One incumbents, which now read with
 * their true h = ∞, against which no feasible point is ever a success (`computeSuccessType`:
 * UNDEFINED). The step would go on past a better feasible point, and the point stay out of the
 * incumbent (docs/reliability.md, finding 33). NOMAD never meets this: its Phase One is a
 * sub-algorithm that stops at the first point satisfying the EB constraints, and the main MADS
 * starts from there (src/Algos/PhaseOne/PhaseOne.cpp); a sequential run here ends the step at
 * that same point (a FULL success in Phase One terms), before this matters. So the running step
 * is judged from now on against the barrier that Phase One's end built, as a step started then.
 */
function rebaseRunningStep(state: EngineState): void {
  const step = state.step;
  if (step === null) return;
  step.startFeas = state.barrier.incFeas[0] ?? null;
  step.startInf = state.barrier.incInf[0] ?? null;
  step.startHMax = encodeNumber(state.barrier.hMax);
}

/**
 * The first barrier, from the X0 step's results (every ok point: X0 and idle-filling points told
 * with it). False when none is ok. Phase One when no point has h < ∞ (§5.5).
 */
function barrierFromX0(state: EngineState): boolean {
  const ok = allOkIds(state);
  state.lateIds = [];
  if (ok.length === 0) return false;
  state.phaseOne = !state.cache.records.some((r) => r.status === 'ok' && r.h < Infinity);
  updateWithPoints(state.barrier, ok, fh(state), true);
  if (state.barrier.incFeas.length === 0 && state.barrier.incInf.length === 0) {
    // Every X0 has h > H_MAX_0: relax the threshold rather than stopping without a centre.
    state.barrier.hMax = Infinity;
    updateWithPoints(state.barrier, ok, fh(state), true);
  }
  return true;
}

/**
 * Once the engine has stopped (the budget spent, a user stop), the running step never finishes,
 * so its results would never reach the barrier: the last points of a study, often its best, would
 * be missing from the incumbents (bestFeasible, earlyStopThreshold). NOMAD ends the running step
 * at a stop and still updates its barrier with what was evaluated (Step::end, the barrier update of
 * IterationUtils::postProcessing). Called after every tell and stop while stopped: results of
 * points still in flight at the stop arrive later. Idempotent; suggests nothing.
 */
export function absorbAfterStop(state: EngineState): void {
  if (state.stop === null) return;
  const step = state.step;
  if (step?.kind === 'x0') {
    // The X0 step never ended: build the first barrier from everything told so far, afresh.
    state.barrier = emptyBarrier(state.options.hMax0);
    state.phaseOne = false;
    barrierFromX0(state);
    return;
  }
  if (step !== null && step.returned.length > 0) updateWithPoints(state.barrier, step.returned, fh(state), true);
  mergeLate(state);
}

function finishStep(state: EngineState, step: Step): void {
  state.step = null;
  // Dispatched points still out will arrive as late results (latency-tolerant opportunism, E.2).
  switch (step.kind) {
    case 'x0': {
      if (!barrierFromX0(state)) {
        state.stop = { kind: 'X0_FAIL' };
        return;
      }
      startMegaIteration(state);
      return;
    }
    case 'nm': {
      updateWithPoints(state.barrier, step.returned, fh(state), true);
      mergeLate(state);
      const more = nmFinishStep(state, step);
      if (more !== null) {
        state.step = more;
        return;
      }
      const nmFull = state.nm?.fullSuccess ?? false;
      state.nm = null;
      refreshIncumbents(state.barrier, fh(state));
      if (nmFull) startMegaIteration(state);
      else state.nextKind = nextKindAfter(state, 'nm');
      return;
    }
    case 'global':
    case 'speculative':
    case 'surrogate':
    case 'quad': {
      updateWithPoints(state.barrier, step.returned, fh(state), step.fullSuccess);
      // The meshtune preset keeps the rule it was measured with: points a failed search added are
      // derived into the incumbents only by the next update that adds points (docs/algorithm.md,
      // "The nomad4 preset on integer and constrained spaces").
      if (state.options.preset !== 'nomad4') delete state.barrier.stale;
      mergeLate(state);
      if (step.fullSuccess) startMegaIteration(state);
      else if (step.inNmSlot === true) {
        // The model points failed: the iteration's NM search follows them (nmSlotTakenByModel).
        state.nmSlotModelIteration = state.iteration;
        state.nextKind = 'nm';
      } else state.nextKind = nextKindAfter(state, step.kind);
      return;
    }
    case 'poll1': {
      updateWithPoints(state.barrier, step.returned, fh(state), true);
      mergeLate(state);
      if (!step.fullSuccess && step.firstPass !== null && step.centreId >= 0) {
        state.pendingSecondPass = { centreId: step.centreId, firstPass: step.firstPass };
        state.nextKind = 'poll2';
      } else startMegaIteration(state);
      return;
    }
    case 'poll2': {
      updateWithPoints(state.barrier, step.returned, fh(state), true);
      mergeLate(state);
      startMegaIteration(state);
      return;
    }
  }
}

function nextKindAfter(state: EngineState, kind: StepKind): StepKind | null {
  const i = ITERATION_ORDER.indexOf(kind);
  for (const k of ITERATION_ORDER.slice(i + 1)) if (isEnabled(state, k)) return k;
  return null;
}

function isEnabled(state: EngineState, kind: StepKind): boolean {
  const n = state.space.free.length;
  switch (kind) {
    case 'global':
      return state.restart.globalPending === true;
    case 'speculative':
      return state.options.speculativeSearch;
    case 'surrogate':
      return surrogateStepEnabled(state) && modelsMayProposeNewPoints(state);
    case 'quad':
      return state.options.quadModelSearch && n < 50 && modelsMayProposeNewPoints(state);
    case 'nm':
      return state.options.nmSearch;
    case 'poll1':
      return true;
    default:
      return false;
  }
}

/** MegaIteration start (§0, §5.1 use 2): mesh update from the incumbents, stop tests. */
function startMegaIteration(state: EngineState): void {
  mergeLate(state);
  if (state.iteration > 0) {
    if (state.iterationProducedPoints) state.emptyIterations = 0;
    else state.emptyIterations++;
  }
  state.iterationProducedPoints = false;
  state.extra = [];
  state.pendingSecondPass = null;
  const b = state.barrier;
  const newFeas = b.incFeas[0] ?? null;
  const newInf = b.incInf[0] ?? null;
  if (b.refFeas !== null || b.refInf !== null) {
    const feasSuccess = computeSuccessType(fhOf(state, newFeas), fhOf(state, b.refFeas), Infinity);
    let success = feasSuccess;
    if (success < Success.PARTIAL) {
      success = Math.max(success, computeSuccessType(fhOf(state, newInf), fhOf(state, b.refInf), Infinity));
    }
    if (success === Success.FULL) {
      const best = feasSuccess === Success.FULL ? newFeas : newInf;
      const dir = directionOf(state, best) ?? new Array<number>(state.space.free.length).fill(0);
      enlarge(state.mesh, dir, state.options.anisotropicMesh, state.options.anisotropyFactor, frameCaps(state));
    } else if (success !== Success.PARTIAL && !deferRefinement(state)) refine(state.mesh);
  }
  state.lastDirFeas = directionOf(state, newFeas);
  state.lastDirInf = directionOf(state, newInf);
  b.refFeas = newFeas;
  b.refInf = newInf;
  state.iteration++;
  const meshStop = checkMeshForStopping(state.mesh);
  if (meshStop !== null) {
    if (!tryRestart(state)) state.stop = { kind: meshStop };
  } else if (
    state.emptyIterations >=
      (state.options.restartOnMinMesh ? MAX_EMPTY_ITERATIONS_BEFORE_RESTART : MAX_EMPTY_ITERATIONS) &&
    !tryRestart(state)
  ) {
    state.stop = { kind: 'MIN_MESH_SIZE_REACHED' };
  }
  beginFlight(state);
  state.nextKind = ITERATION_ORDER.find((k) => isEnabled(state, k)) ?? 'poll1';
}

/**
 * `boundedFrame` (meshtune extension): a variable's frame is not enlarged once it is at least half
 * its range (upper − lower; unbounded variables: no cap), the cap the restarts already use
 * (restart.ts). Why: NOMAD enlarges without limit, and on a box a frame wider than the box only
 * produces poll points clipped onto the bounds, then refinements to come back (bench:engine
 * `rosenbrock_box_4` seed 1: Δ = 5 on a variable of range 2.5; docs/benchmarks.md, "Results:
 * small budgets, 2026-12-04 evening"). Opt-in: it lost runs on mixed integer/real spaces there.
 * null: no cap (NOMAD).
 */
function frameCaps(state: EngineState): number[] | null {
  if (!state.options.boundedFrame) return null;
  return state.space.free.map((j) => (state.space.upper[j] - state.space.lower[j]) / 2);
}

/**
 * direction = x − pointFrom (§5.2), free coordinates; an incumbent without pointFrom gets the
 * previous reference incumbent as substitute. null when absent or zero.
 */
function directionOf(state: EngineState, id: number | null): number[] | null {
  if (id === null) return null;
  const rec = state.cache.get(id);
  if (rec.fromId < 0) {
    const sub = state.barrier.refFeas ?? state.barrier.refInf;
    if (sub === null || sub === id) return null;
    rec.fromId = sub;
  }
  if (rec.fromId === id) return null;
  const from = toFree(state.space, state.cache.get(rec.fromId).x);
  const d = toFree(state.space, rec.x).map((v, i) => v - from[i]);
  return d.some((v) => v !== 0) ? d : null;
}

function startNextStep(state: EngineState): void {
  const kind = state.nextKind ?? 'poll1';
  const opp = state.options.opportunistic;
  switch (kind) {
    case 'global':
      state.restart.globalPending = false;
      state.step = newStep(state, kind, globalCandidates(state), opp);
      state.restart.fineGlobal = false;
      state.nextKind = nextKindAfter(state, kind);
      return;
    case 'speculative':
      state.step = newStep(state, kind, sortCandidates(state, speculativeCandidates(state)), opp);
      state.nextKind = nextKindAfter(state, kind);
      return;
    case 'surrogate':
      state.step = newStep(state, kind, surrogateCandidates(state), opp);
      state.nextKind = nextKindAfter(state, kind);
      return;
    case 'quad':
      state.step = newStep(state, kind, sortCandidates(state, quadSearchCandidates(state)), opp);
      state.nextKind = nextKindAfter(state, kind);
      return;
    case 'nm': {
      if (nmSlotTakenByModel(state)) {
        const model = newStep(state, 'quad', sortCandidates(state, nmSlotModelCandidates(state)), opp);
        model.inNmSlot = true;
        state.step = model;
        state.nextKind = nextKindAfter(state, kind);
        return;
      }
      const step = nmStartSearch(state);
      state.nextKind = nextKindAfter(state, kind);
      if (step !== null) state.step = step;
      else {
        // An NM search that ends before its first point still ends its run (refreshIncumbents).
        state.nm = null;
        refreshIncumbents(state.barrier, fh(state));
      }
      return;
    }
    case 'poll1': {
      const { primary, secondary } = pollCentres(state);
      if (primary === null) {
        state.stop = { kind: 'X0_FAIL' };
        return;
      }
      const gen = generatePoll(state, primary, secondary);
      if (gen.generated === 0) {
        // MESH_PREC_REACHED (§2.6), reported as MIN_MESH_SIZE_REACHED, unless a restart
        // (bounded by its fruitless count) gives the poll a larger frame.
        if (tryRestart(state)) startNextStep(state);
        else state.stop = { kind: 'MIN_MESH_SIZE_REACHED' };
        return;
      }
      const step = newStep(state, 'poll1', gen.queue, opp);
      step.firstPass = gen.firstPass;
      step.centreId = primary;
      step.spare = gen.spare;
      state.step = step;
      state.nextKind = null;
      return;
    }
    case 'poll2': {
      const sp = state.pendingSecondPass;
      state.pendingSecondPass = null;
      const cands = sp === null ? [] : generateSecondPass(state, sp.centreId, sp.firstPass);
      state.step = newStep(state, 'poll2', cands, opp);
      state.nextKind = null;
      return;
    }
    case 'x0':
      return;
  }
}

/**
 * The NM slot holds model points only from this many simplex gradients of evaluations on: before,
 * the quadratic model is fitted on fewer points than it has coefficients and Nelder–Mead's first
 * simplex moves did better (starting at 0 or at (n+1)(n+2)/2 evaluations lost runs at 5 and
 * 10(n+1) on bench:engine's seeds 0–6, docs/benchmarks.md, "Results: small budgets, 2026-12-04
 * night").
 */
const NM_MODEL_START_GRADIENTS = 5;

/**
 * `nmModelFactor` (meshtune extension, 20 in the meshtune preset): from NM_MODEL_START_GRADIENTS·(n+1) evaluations
 * and while fewer than factor·(n+1) are done, the Nelder–Mead slot of an iteration first holds
 * quadratic-model points, and the NM search follows them only when they fail; only while no point
 * is in flight (with runners in flight the pipeline releases NM steps anyway). Replacing NM
 * outright solved more runs at 20(n+1) but lost a curved valley (`helical_valley_3`) at 50(n+1). Why: on the smooth bench:engine
 * problems NM took 34–61 % of the first 20(n+1) evaluations and 5–25 % of them improved
 * (docs/benchmarks.md, "Results: small budgets, 2026-12-04 evening"). The poll is untouched, so
 * MADS's convergence analysis holds (the points are on the mesh, finitely many per iteration).
 */
function nmSlotTakenByModel(state: EngineState): boolean {
  const n = state.space.free.length;
  return (
    state.nmSlotModelIteration !== state.iteration &&
    state.inFlight === 0 &&
    state.evaluations >= NM_MODEL_START_GRADIENTS * (n + 1) &&
    state.evaluations < state.options.nmModelFactor * (n + 1) &&
    n < 50 &&
    modelsMayProposeNewPoints(state)
  );
}

/**
 * Trust regions of the NM slot's model points, as indices of quad-model.ts's idle-point scales:
 * ½ and ¼ of the quadratic search's box (QUAD_MODEL_BOX_FACTOR/2·Δ around the incumbent). The
 * quadratic search, over its training hull, has just failed in this iteration; the smaller
 * regions are where its model is best. (½ and 2, or ½ alone, solved fewer development runs.)
 */
const NM_SLOT_MODEL_SCALES = [0, 2];

/** The model points of the NM slot (quad-model.ts `quadIdleCandidate`), on the mesh. */
function nmSlotModelCandidates(state: EngineState): Candidate[] {
  const out: Candidate[] = [];
  for (const k of NM_SLOT_MODEL_SCALES) {
    const c = quadIdleCandidate(state, k);
    if (c !== null) out.push(c);
  }
  return out;
}

/**
 * The surrogate step waits for this many simplex gradients of evaluations: with fewer points
 * than 2(n+1) the GP cannot fit n length scales, and its point only displaced the local steps
 * (bench:engine dev runs of 2026-12-03, docs/algorithm.md "Surrogate search").
 */
const SURROGATE_START_GRADIENTS = 2;

/**
 * The surrogate step runs once SURROGATE_START_GRADIENTS·(n+1) evaluations are done and while
 * fewer than surrogateSearchFactor·(n+1) are done or in flight; in 'sequential' mode only when
 * no point is in flight (with points in flight it cost runs on integer spaces, docs/algorithm.md).
 */
function surrogateStepEnabled(state: EngineState): boolean {
  const n = state.space.free.length;
  const mode = state.options.surrogateSearch;
  return (
    (mode === true || (mode === 'sequential' && state.inFlight === 0)) &&
    state.evaluations >= SURROGATE_START_GRADIENTS * (n + 1) &&
    state.evaluations + state.inFlight < state.options.surrogateSearchFactor * (n + 1)
  );
}

/**
 * Surrogate points handed to idle runners per step before the poll-based filling below: the
 * model's next choices (pending points believed at their predictions) rather than more poll
 * directions around the same centre (issue 15). Only with `surrogateSearch: true`: the
 * 'sequential' mode leaves runs with points in flight as they were without the surrogate.
 */
function surrogateIdleCap(state: EngineState): number {
  return state.options.surrogateSearch === true ? state.space.free.length + 1 : 0;
}

/**
 * `idleSurrogatePoints` (opt-in, off in both presets): once more points are in flight than one
 * ORTHO 2N poll has (2n), per step up to this many idle runners get a point of the surrogate
 * search's Gaussian process over the whole box, chosen by one joint Thompson draw over its
 * candidates (search/surrogate.ts; the points in flight believed at their predictions, so the
 * draws spread), instead of fresh poll bases around the same centre. Why it was tried: a
 * sequential MADS would not evaluate 2n more directions of one frame (issue 15). Why it is not a
 * default: it won runs on problems with basins and traps but lost curved valleys and thin
 * feasible sets, where those polls carry the progress (docs/benchmarks.md, "Results: global
 * points for idle runners"). It leaves the iteration's own steps alone (unlike
 * `surrogateSearch: true`, whose idle points share the per-step count `surrogateIdle`); with
 * n ≥ 2 and 4 runners it never acts (at most 3 points are in flight when a runner asks).
 */
function nextSurrogateIdleCandidate(state: EngineState): Candidate | null {
  const n = state.space.free.length;
  const cap = state.options.idleSurrogatePoints;
  if (cap === 0 || n === 0 || state.inFlight < 2 * n) return null;
  if (state.evaluations < SURROGATE_START_GRADIENTS * (n + 1)) return null;
  if ((state.surrogateIdle ?? 0) >= cap) return null;
  state.surrogateIdle = (state.surrogateIdle ?? 0) + 1;
  const [c] = surrogateCandidates(state, 1, true);
  return c ?? null;
}

/** Fresh ORTHO 2N bases that idle filling may draw per step. */
const MAX_EXTRA_BASES = 4;

/**
 * Extra points for idle runners (docs/algorithm.md): the ORTHO N+1 directions the reduction
 * dropped, then fresh ORTHO 2N polls around the primary centre (at most MAX_EXTRA_BASES per
 * step, so a huge k cannot flood the frame).
 */
export function nextIdleCandidate(state: EngineState): Candidate | null {
  if ((state.surrogateIdle ?? 0) < surrogateIdleCap(state)) {
    state.surrogateIdle = (state.surrogateIdle ?? 0) + 1;
    const [c] = surrogateCandidates(state);
    if (c !== undefined) return c;
  }
  const model = nextModelIdleCandidate(state);
  if (model !== null) return model;
  for (;;) {
    const step = state.step;
    const spare = step !== null ? step.spare : [];
    while (spare.length > 0) {
      const c = spare.shift() as Candidate;
      if (!state.cache.has(c.x)) return c;
    }
    const global = nextSurrogateIdleCandidate(state);
    if (global !== null) return global;
    while (state.extra.length > 0) {
      const c = state.extra.shift() as Candidate;
      if (!state.cache.has(c.x)) return c;
    }
    if (state.extraBases >= MAX_EXTRA_BASES) return null;
    const centre = pollCentres(state).primary ?? firstX0Id(state);
    if (centre === null || state.space.free.length === 0) return null;
    const refinements = idleBaseRefinements(state, state.extraBases);
    state.extraBases++;
    const dirs = ortho2nDirections(state.rng, state.space.free.length);
    state.extra = onRefinedFrame(state, refinements, () =>
      sortCandidates(state, pointsFromDirections(state, centre, dirs, new Set())),
    ).filter((c) => !state.cache.has(c.x));
  }
}

/**
 * `idleFrameRefinements` (opt-in, off in both presets): how many times the frame of the k-th fresh
 * idle basis of a step is refined. Why: the pipeline hands idle runners what a sequential MADS
 * would evaluate next if the pending points fail, and once it is at its depth the fresh bases
 * poll more directions of the current frame; a sequential MADS whose iteration fails polls the
 * same centre on the next smaller frame (§2.4, `GMesh::refineDeltaFrameSize`), and after that
 * the one below. So the k-th basis polls the frame refined 1 + (k mod r) times: the failure
 * branch of the next r iterations (issue 15, item 1). Not while X0 is out: there the bases are
 * the first look around X0 on the initial frame, and refined ones lost runs at 1–10(n+1). Not a
 * default: with 16 runners it sped up 4-variable smooth problems but was slower on or lost the
 * 2-variable curved valleys and thin feasible sets it was aimed at (docs/benchmarks.md, "Results:
 * the next iterations' polls for idle runners").
 */
function idleBaseRefinements(state: EngineState, k: number): number {
  const r = state.options.idleFrameRefinements;
  if (r === 0 || state.step?.kind === 'x0') return 0;
  return 1 + (k % r);
}

/** Runs `generate` with the frame refined `times` times (a copy of the mesh; the state's is kept). */
function onRefinedFrame<T>(state: EngineState, times: number, generate: () => T): T {
  if (times === 0) return generate();
  const current = state.mesh;
  state.mesh = structuredClone(current);
  for (let i = 0; i < times; i++) refine(state.mesh);
  try {
    return generate();
  } finally {
    state.mesh = current;
  }
}

/**
 * The next quadratic-model point for an idle runner (`modelIdlePoints` per step, quad-model.ts
 * `quadIdleCandidate`): the model searches of the next iterations' trust regions.
 */
export function nextModelIdleCandidate(state: EngineState): Candidate | null {
  while ((state.modelIdle ?? 0) < state.options.modelIdlePoints) {
    const k = state.modelIdle ?? 0;
    state.modelIdle = k + 1;
    const c = quadIdleCandidate(state, k);
    if (c !== null && !state.cache.has(c.x)) return c;
  }
  return null;
}

function firstX0Id(state: EngineState): number | null {
  const rec = state.cache.records.find((r) => r.origin === 'x0' && r.status !== 'failed');
  return rec === undefined ? null : rec.id;
}
