/**
 * Nelder–Mead on believed values (`nmBelieve`, meshtune extension, opt-in; issue 15, item 1).
 *
 * With points in flight the pipeline releases an NM step as soon as its one point is handed out,
 * and the NM search then ends (it needs that point's value to choose its next move). A
 * sequential run spends a large share of its evaluations there (docs/benchmarks.md: 57–73 % of
 * the first 20(n+1) on `beale_2`), and with 16 runners that share went to idle polls. Here the
 * released step's point gets the quadratic model's prediction as its value (the "kriging
 * believer" of batch Bayesian optimisation), and NM goes on from it: the next reflection,
 * expansion or contraction goes to the next runner. Its result replaces the belief as soon as it
 * arrives (nelder-mead.ts `fh` reads the result first). At most `nmBelieve` points of one search
 * are believed at once; beyond that, or without a model, NM ends as before.
 */
import type { FH } from '../barrier';
import type { EngineState, Step } from '../state';
import { quadPredictions } from './quad-model';

/** The belief of an NM point without a result (in flight, or failed while believed); null if none. */
export function believedFh(state: EngineState, id: number): FH | null {
  return state.nm?.beliefs?.[id] ?? null;
}

/**
 * A released NM step whose point is still out: believe the model's value for it, if the option
 * allows one more belief. Returns whether NM may go on with the point.
 */
export function believePendingPoint(state: EngineState, step: Step): boolean {
  const nm = state.nm;
  const cap = state.options.nmBelieve;
  if (nm === null || cap <= 0 || step.released !== true || step.dispatched.length !== 1) return false;
  const id = step.dispatched[0];
  const rec = state.cache.get(id);
  if (rec === undefined || rec.status !== 'pending') return false;
  const beliefs = (nm.beliefs ??= {});
  const outstanding = Object.keys(beliefs).filter((k) => state.cache.get(Number(k))?.status === 'pending').length;
  if (outstanding >= cap) return false;
  const p = quadPredictions(state, [rec.x])?.[0] ?? null;
  if (p === null) return false;
  beliefs[id] = p;
  return true;
}
