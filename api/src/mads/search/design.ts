/**
 * Initial design (`initialDesignFactor`, meshtune extension, opt-in): in the first iteration,
 * before the other searches, ceil(factor·(n+1)) points of a maximin Latin hypercube over the box
 * (X0 ± 4 frames where a bound is missing), put on the mesh around X0 as every search point is
 * (§2.5), so that the first models are fitted on points spread over the space rather than on the
 * poll's cross around X0. NOMAD's counterpart is LH_SEARCH's first-iteration points
 * (src/Algos/Mads/LHSearchMethod.cpp, a Latin hypercube snapped to the mesh); here the design is
 * maximin (the best of DESIGN_TRIES hypercubes by the smallest distance between points, X0
 * included) and drawn from a generator of its own seeded by the study's seed, so the engine's
 * stream (poll directions) is untouched. A search step: the poll and its guarantees are NOMAD's.
 */
import { NomadRng } from '../../math/rng';
import { frameSizes } from '../mesh';
import { pollCentres } from '../poll';
import { cacheKey, snapToMeshAndBounds } from '../space';
import type { Candidate, EngineState } from '../state';

/** Latin hypercubes drawn; the one whose closest pair (X0 included) is farthest apart wins. */
const DESIGN_TRIES = 20;

function designRng(state: EngineState): NomadRng {
  const seed = state.problem.seed >>> 0;
  return NomadRng.fromState([(88675123 ^ seed) >>> 0 || 1, 5783321, 3521288629]);
}

export function initialDesignCandidates(state: EngineState): Candidate[] {
  const centreId = pollCentres(state).primary;
  const free = state.space.free;
  const n = free.length;
  if (centreId === null || n === 0) return [];
  const m = Math.ceil(state.options.initialDesignFactor * (n + 1));
  if (m <= 0) return [];
  const centre = state.cache.get(centreId).x;
  const frames = frameSizes(state.mesh);
  const lo = free.map((i, f) => (Number.isFinite(state.space.lower[i]) ? state.space.lower[i] : centre[i] - 4 * frames[f]));
  const hi = free.map((i, f) => (Number.isFinite(state.space.upper[i]) ? state.space.upper[i] : centre[i] + 4 * frames[f]));
  const scaled = (x: readonly number[]): number[] => free.map((i, f) => (hi[f] > lo[f] ? (x[i] - lo[f]) / (hi[f] - lo[f]) : 0));
  const existing = state.cache.records.filter((r) => r.status !== 'failed').map((r) => scaled(r.x));
  const rng = designRng(state);
  let best: Candidate[] = [];
  let bestScore = -1;
  for (let t = 0; t < DESIGN_TRIES; t++) {
    const strata = free.map(() => permutation(rng, m));
    const seen = new Set<string>();
    const out: Candidate[] = [];
    for (let k = 0; k < m; k++) {
      const raw = [...centre];
      free.forEach((i, f) => {
        raw[i] = lo[f] + ((strata[f][k] + rng.uniform(0, 1)) / m) * (hi[f] - lo[f]);
      });
      const x = snapToMeshAndBounds(state.space, state.mesh, raw, centre);
      const key = cacheKey(x);
      if (seen.has(key) || state.cache.has(x)) continue;
      seen.add(key);
      out.push({ x, fromId: centreId, origin: 'search' });
    }
    const pts = [...existing, ...out.map((c) => scaled(c.x))];
    let score = Infinity;
    for (let a = existing.length; a < pts.length; a++) {
      for (let b = 0; b < a; b++) score = Math.min(score, distance(pts[a], pts[b]));
    }
    // More distinct points first (a lattice may merge some), then the larger closest pair.
    const total = out.length * 1e6 + (Number.isFinite(score) ? score : 0);
    if (total > bestScore) {
      bestScore = total;
      best = out;
    }
  }
  return best;
}

function permutation(rng: NomadRng, m: number): number[] {
  const p = Array.from({ length: m }, (_, i) => i);
  for (let i = m - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng.uniform(0, i + 1)));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function distance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
