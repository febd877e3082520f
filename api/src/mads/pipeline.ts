/**
 * The asynchronous pipeline (docs/algorithm.md, "Asynchronous ask/tell"): which iteration each
 * point in flight belongs to, when a waiting step may be released so that idle runners get what a
 * sequential MADS would evaluate next, and which frame a late success is judged from.
 */
import { frameSizes, refine } from './mesh';
import type { EngineState, Flight, Step } from './state';

/** Flights kept at most; the oldest are dropped (their late successes then keep the current frame). */
const MAX_FLIGHTS = 32;

/** Whether points are attributed to iterations (only the meshtune behaviours need it). */
export function tracksFlights(state: EngineState): boolean {
  return state.options.pipelineIterations > 0 || state.options.lateSuccess;
}

/** A new MegaIteration starts (after its frame update): open its flight, drop finished ones. */
export function beginFlight(state: EngineState): void {
  if (!tracksFlights(state)) return;
  const open = state.flights.filter((f) => f.pending > 0);
  open.push({
    iteration: state.iteration,
    firstStepId: state.stepCounter,
    mesh: structuredClone(state.mesh),
    pending: 0,
  });
  state.flights = open.slice(-MAX_FLIGHTS);
}

/** The frame of the current iteration changed without a new iteration (a restart). */
export function updateCurrentFlightMesh(state: EngineState): void {
  const current = state.flights[state.flights.length - 1];
  if (current !== undefined) current.mesh = structuredClone(state.mesh);
}

function flightOf(state: EngineState, stepId: number): Flight | undefined {
  if (stepId < 0) return undefined;
  for (let i = state.flights.length - 1; i >= 0; i--) {
    if (state.flights[i].firstStepId <= stepId) return state.flights[i];
  }
  return undefined;
}

export function onDispatched(state: EngineState, stepId: number): void {
  const flight = flightOf(state, stepId);
  if (flight !== undefined) flight.pending++;
}

export function onTold(state: EngineState, stepId: number, recordId: number): void {
  const flight = flightOf(state, stepId);
  if (flight !== undefined && flight.pending > 0) flight.pending--;
  onEvidence(state, stepId, recordId);
}

/** Earlier iterations (not the current one) that still wait for results. */
function unresolvedEarlier(state: EngineState): number {
  let count = 0;
  for (let i = 0; i < state.flights.length - 1; i++) if (state.flights[i].pending > 0) count++;
  return count;
}

/**
 * A step that has handed out all its points but waits for some may be released: the engine
 * then continues with the next step as if the pending points failed (a success that arrives
 * later is taken up by `lateSuccess`). X0 is never released (X0_FAIL needs all its results), and
 * at most `pipelineIterations` earlier iterations may wait at once, so that a burst of asks
 * cannot refine the mesh many times on no evidence.
 */
export function canRelease(state: EngineState, step: Step): boolean {
  return (
    state.options.pipelineIterations > 0 &&
    step.kind !== 'x0' &&
    step.queue.length === 0 &&
    unresolvedEarlier(state) < state.options.pipelineIterations
  );
}

function logVolume(sizes: readonly number[]): number {
  return sizes.reduce((sum, v) => sum + Math.log(v > 0 ? v : 1e-300), 0);
}

/**
 * A late FULL success: a sequential MADS would have enlarged the frame of the iteration that
 * generated the point, not the frame that later speculative refinements left. Restore that
 * frame when it is larger (the enlargement follows at the next iteration start).
 */
export function restoreFrameOfLateSuccess(state: EngineState, stepId: number): void {
  const flight = flightOf(state, stepId);
  if (flight === undefined) return;
  if (logVolume(frameSizes(flight.mesh)) > logVolume(frameSizes(state.mesh))) state.mesh = structuredClone(flight.mesh);
}

/** A step point (not idle filling) of this iteration was handed out: its result is evidence. */
export function onStepPointDispatched(state: EngineState, stepId: number, recordId: number): void {
  if (state.options.refineAhead >= 16) return;
  const flight = flightOf(state, stepId);
  if (flight !== undefined) (flight.awaited ??= []).push(recordId);
}

function onEvidence(state: EngineState, stepId: number, recordId: number): void {
  const flight = flightOf(state, stepId);
  if (flight?.awaited === undefined) return;
  const at = flight.awaited.indexOf(recordId);
  if (at >= 0) flight.awaited.splice(at, 1);
}

/**
 * `refineAhead`: an iteration ends without a success while points of its steps are still out.
 * The pipeline refines the frame on the assumption that they fail; with many runners it then
 * refines iterations ahead of the evidence (issue 15: `beale_2` ran more iterations with 16
 * runners than sequentially). Once `refineAhead` such refinements await their points, further
 * ones are deferred until theirs come back. Returns whether this one was deferred.
 */
export function deferRefinement(state: EngineState): boolean {
  if (state.options.refineAhead >= 16) return false;
  const ending = state.flights[state.flights.length - 1];
  if (ending === undefined || (ending.awaited?.length ?? 0) === 0) return false;
  const ahead = state.flights.filter((f) => f.refinedAhead === true).length;
  if (ahead < state.options.refineAhead) {
    ending.refinedAhead = true;
    return false;
  }
  ending.deferredRefines = (ending.deferredRefines ?? 0) + 1;
  return true;
}

/** A late FULL success of a point of this step's iteration: its deferred refinements are void. */
export function cancelDeferredRefinements(state: EngineState, stepId: number): void {
  if (state.options.refineAhead >= 16) return;
  const flight = flightOf(state, stepId);
  if (flight !== undefined) flight.deferredRefines = 0;
}

/** After results arrive: iterations whose step points have all come back pay what they owe. */
export function applyDeferredRefinements(state: EngineState): void {
  if (state.options.refineAhead >= 16) return;
  for (const flight of state.flights) {
    if ((flight.awaited?.length ?? 0) > 0) continue;
    flight.refinedAhead = false;
    for (let k = 0; k < (flight.deferredRefines ?? 0); k++) refine(state.mesh);
    flight.deferredRefines = 0;
  }
}
