/**
 * `idleBelievedCentre` (meshtune extension, opt-in; issue 15, item 1): a poll centre for idle
 * runners taken from the points still in flight.
 *
 * With many runners, a success found by one point reaches the engine a round after it was handed
 * out, and only then do the polls move to it; meanwhile idle filling polls more directions around
 * the incumbent it is about to leave. Here every other fresh idle basis is polled around the
 * point in flight that the quadratic model believes best, when it believes that point beats the
 * feasible incumbent: what the poll after that success would evaluate, handed out a round early.
 */
import { quadPredictions } from './search/quad-model';
import type { EngineState } from './state';

/** The record id of the in-flight point with the best predicted f below the feasible incumbent's, else null. */
export function believedCentre(state: EngineState): number | null {
  const incId = state.barrier.incFeas[0];
  if (incId === undefined || state.phaseOne) return null;
  const incumbentF = state.cache.get(incId).f;
  const pending = state.cache.records.filter((r) => r.status === 'pending');
  const predictions = quadPredictions(
    state,
    pending.map((r) => r.x),
  );
  if (predictions === null) return null;
  let best: number | null = null;
  let bestF = incumbentF;
  predictions.forEach((p, i) => {
    if (p !== null && p.h === 0 && p.f < bestF) {
      bestF = p.f;
      best = pending[i].id;
    }
  });
  return best;
}
