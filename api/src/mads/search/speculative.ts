/**
 * Speculative search (NOMAD 4.5.1, src/Algos/Mads/SpeculativeSearchMethod.cpp): for each incumbent
 * with a generating point p, try p + BASE_FACTOR·i·(x − p), i = 1..SPECULATIVE_SEARCH_MAX,
 * projected on the mesh relative to the incumbent and snapped.
 */
import { snapToMeshAndBounds } from '../space';
import type { Candidate, EngineState } from '../state';

export function speculativeCandidates(state: EngineState): Candidate[] {
  const out: Candidate[] = [];
  const incumbents = [state.barrier.incFeas[0], state.barrier.incInf[0]];
  for (const id of incumbents) {
    if (id === undefined) continue;
    const inc = state.cache.get(id);
    if (inc.fromId < 0 || inc.fromId === id) continue;
    const p = state.cache.get(inc.fromId).x;
    const d = inc.x.map((v, i) => v - p[i]);
    for (let i = 1; i <= state.options.speculativeSearchMax; i++) {
      const factor = state.options.speculativeSearchBaseFactor * i;
      const raw = p.map((v, j) => v + factor * d[j]);
      out.push({ x: snapToMeshAndBounds(state.space, state.mesh, raw, inc.x), fromId: id, origin: 'search' });
    }
  }
  return out;
}
