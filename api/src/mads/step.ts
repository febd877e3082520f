/**
 * A new step of an iteration (search or poll) with its queue of candidates: its own file so that
 * the engine and the search methods that open steps (Nelder-Mead) share it without importing
 * each other.
 */
import { encodeNumber } from '../math/numerics';
import { cacheKey } from './space';
import type { Candidate, EngineState, Step, StepKind } from './state';

export function newStep(state: EngineState, kind: StepKind, queue: Candidate[], opportunistic: boolean): Step {
  const step: Step = {
    id: state.stepCounter++,
    kind,
    queue: dedupe(state, queue),
    dispatched: [],
    returned: [],
    opportunistic,
    fullSuccess: false,
    firstPass: null,
    centreId: -1,
    spare: [],
    startFeas: state.barrier.incFeas[0] ?? null,
    startInf: state.barrier.incInf[0] ?? null,
    startHMax: encodeNumber(state.barrier.hMax),
  };
  if (step.queue.length > 0) state.iterationProducedPoints = true;
  state.extraBases = 0;
  state.surrogateIdle = 0;
  state.modelIdle = 0;
  return step;
}

/** Drop cached points (§5.6: never suggested twice) and duplicates within the queue. */
function dedupe(state: EngineState, queue: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return queue.filter((c) => {
    const key = cacheKey(c.x);
    if (seen.has(key) || state.cache.has(c.x)) return false;
    seen.add(key);
    return true;
  });
}
