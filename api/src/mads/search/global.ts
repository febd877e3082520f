/**
 * Global exploration after a fruitless restart (`restartOnMinMesh`, docs/algorithm.md, "Using the
 * whole budget"): when widening the frame around the incumbent found no new point (a small
 * integer grid whose neighbourhoods are all evaluated), sample points uniformly over the box
 * (incumbent ± 4 frames where a bound is missing), put them on the mesh, and hand out the n + 1
 * the quadratic-model ordering ranks best. A search step: the poll and its guarantees are
 * untouched.
 */
import { frameSizes } from '../mesh';
import { sortCandidates } from '../ordering';
import { pollCentres } from '../poll';
import { cacheKey, clipAndRound, snapToMeshAndBounds } from '../space';
import type { Candidate, EngineState } from '../state';

/** Samples drawn per free variable and kept per step (times n + 1). */
const SAMPLES_PER_DIMENSION = 8;

export function globalCandidates(state: EngineState): Candidate[] {
  const centreId = pollCentres(state).primary;
  const n = state.space.free.length;
  if (centreId === null || n === 0) return [];
  const centre = state.cache.get(centreId).x;
  const frames = frameSizes(state.mesh);
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (let k = 0; k < SAMPLES_PER_DIMENSION * (n + 1); k++) {
    const raw = [...centre];
    state.space.free.forEach((i, f) => {
      const lb = state.space.lower[i];
      const ub = state.space.upper[i];
      const lo = Number.isFinite(lb) ? lb : centre[i] - 4 * frames[f];
      const hi = Number.isFinite(ub) ? ub : centre[i] + 4 * frames[f];
      raw[i] = state.rng.uniform(lo, hi);
    });
    // `fineGlobal` (restart.ts): the restarted mesh's lattice is exhausted; sample on the
    // granularity alone (continuous variables: anywhere in the box).
    const x =
      state.restart.fineGlobal === true
        ? clipAndRound(state.space, raw)
        : snapToMeshAndBounds(state.space, state.mesh, raw, centre);
    const key = cacheKey(x);
    if (seen.has(key) || state.cache.has(x)) continue;
    seen.add(key);
    out.push({ x, fromId: centreId, origin: 'search' });
  }
  return sortCandidates(state, out).slice(0, n + 1);
}
