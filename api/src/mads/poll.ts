/**
 * Poll step (§3; NOMAD 4.5.1, src/Algos/Mads/Poll.cpp, PollMethodBase.cpp): primary centre with
 * DIRECTION_TYPE, secondary centre with DOUBLE, scaling to the frame, projection on the mesh,
 * snapping to bounds, ORTHO N+1 reduction and second pass (NEG / QUAD).
 */
import { addIfIndependent, doubleDirections, ortho2nDirections } from './directions';
import { scaleAndProjectOnMesh } from './mesh';
import { EPS, lessEps } from '../math/numerics';
import { sortCandidates } from './ordering';
import { quadSecondPassDirection } from './search/quad-model';
import { cacheKey, clipAndRound, displacementToFull, snapToMeshAndBounds, toFree } from './space';
import { modelsMayProposeNewPoints, type Candidate, type EngineState } from './state';

/** `Poll::computePrimarySecondaryPollCenters` (§3.2, Appendix D #2: feasible always primary). */
export function pollCentres(state: EngineState): { primary: number | null; secondary: number | null } {
  const feas = state.barrier.incFeas[0] ?? null;
  const inf = state.barrier.incInf[0] ?? null;
  if (feas !== null) return { primary: feas, secondary: state.options.secondaryPoll ? inf : null };
  return { primary: inf, secondary: null };
}

/**
 * Turn raw directions into trial points around a centre (§2.5, §3.3): scale and project, add,
 * snap; drop points equal to the centre and duplicates. Generation order is kept.
 */
export function pointsFromDirections(
  state: EngineState,
  centreId: number,
  directions: readonly number[][],
  seen: Set<string>,
): Candidate[] {
  const centre = state.cache.get(centreId).x;
  const centreKey = cacheKey(centre);
  const out: Candidate[] = [];
  for (const dir of directions) {
    const step = displacementToFull(state.space, scaleAndProjectOnMesh(state.mesh, dir));
    const raw = centre.map((c, i) => c + step[i]);
    const x = snapToMeshAndBounds(state.space, state.mesh, raw, centre);
    const key = cacheKey(x);
    if (key === centreKey || seen.has(key)) continue;
    seen.add(key);
    out.push({ x, fromId: centreId, origin: 'poll' });
  }
  return out;
}

export interface PollGeneration {
  /** Points to queue (sorted, not yet cache-filtered). */
  queue: Candidate[];
  /** Number of primary trial points generated; 0 ⇒ MESH_PREC_REACHED (§2.6). */
  generated: number;
  firstPass: number[][] | null;
  spare: Candidate[];
}

/** First poll pass of an iteration (§3.4). */
export function generatePoll(state: EngineState, centreId: number, secondaryId: number | null): PollGeneration {
  const n = state.space.free.length;
  if (n === 0) return { queue: [], generated: 0, firstPass: null, spare: [] };
  const seen = new Set<string>();
  const primary = pointsFromDirections(state, centreId, ortho2nDirections(state.rng, n), seen);
  let kept = primary;
  let firstPass: number[][] | null = null;
  let spare: Candidate[] = [];
  if (state.options.directionType !== 'ORTHO 2N' && primary.length > 0) {
    const reduced = reduceToN(state, centreId, primary, n);
    kept = reduced.kept;
    firstPass = reduced.firstPass;
    spare = primary.filter((c) => !kept.includes(c) && !state.cache.has(c.x));
  }
  let secondary: Candidate[] = [];
  if (secondaryId !== null && n > 0) {
    secondary = pointsFromDirections(state, secondaryId, doubleDirections(state.rng, n), seen);
  }
  const categorical = categoricalNeighbours(state, centreId, seen);
  return {
    queue: sortCandidates(state, [...kept, ...secondary, ...categorical]),
    generated: primary.length,
    firstPass,
    spare,
  };
}

/**
 * Categorical neighbours (meshtune extension, off unless `categoricalVariables` is set; not in
 * NOMAD 4): for each unordered categorical variable, the poll centre with that variable set to
 * each other category, so every category stays one step away whatever its index.
 */
export function categoricalNeighbours(state: EngineState, centreId: number, seen: Set<string>): Candidate[] {
  const out: Candidate[] = [];
  const centre = state.cache.get(centreId).x;
  for (const i of state.options.categoricalVariables) {
    const g = state.space.granularity[i] > 0 ? state.space.granularity[i] : 1;
    const first = Math.ceil(state.space.lower[i] / g - 1e-9);
    const last = Math.floor(state.space.upper[i] / g + 1e-9);
    for (let k = first; k <= last; k++) {
      const x = [...centre];
      x[i] = k * g;
      const snapped = clipAndRound(state.space, x);
      const key = cacheKey(snapped);
      if (snapped[i] === centre[i] || seen.has(key)) continue;
      seen.add(key);
      out.push({ x: snapped, fromId: centreId, origin: 'poll' });
    }
  }
  return out;
}

/**
 * `OrthoNPlus1PollMethod::trialPointsReduction` (§3.4): sort, drop cached points, keep those
 * that increase the rank of the kept directions until n are kept; if too few remain, append
 * already-evaluated ones in generation order (they are not evaluated again).
 */
function reduceToN(
  state: EngineState,
  centreId: number,
  primary: Candidate[],
  n: number,
): { kept: Candidate[]; firstPass: number[][] } {
  const centre = toFree(state.space, state.cache.get(centreId).x);
  const disp = (c: Candidate): number[] => toFree(state.space, c.x).map((v, i) => v - centre[i]);
  const sorted = sortCandidates(state, primary).filter((c) => !state.cache.has(c.x));
  const basis: number[][] = [];
  const kept: Candidate[] = [];
  const firstPass: number[][] = [];
  for (const c of sorted) {
    if (kept.length >= n) break;
    const d = disp(c);
    if (addIfIndependent(basis, d, EPS)) {
      kept.push(c);
      firstPass.push(d);
    }
  }
  if (firstPass.length < n) {
    for (const c of primary) {
      if (firstPass.length >= n) break;
      if (state.cache.has(c.x)) firstPass.push(disp(c));
    }
  }
  // The second pass reads the first pass's directions from the poll's trial points, a set ordered
  // by their coordinates (NOMAD 4.5.1, src/Algos/Mads/OrthoNPlus1PollMethod.cpp,
  // `generateSecondPassDirections` over `_trialPoints`, an `EvalPointSet` ordered by
  // `Point::weakLess`), not in evaluation order. The order is the coordinate order of the QUAD
  // model's scaled space (`QuadModelUpdate::scalingByDirections`), so the inner MADS that
  // minimises it explores the same coordinates as NOMAD's.
  // The nomad4 preset only: with it the meshtune preset lost runs at 5–50(n+1) on the development
  // and unseen sets (docs/benchmarks.md, "Results: the nomad4 preset against NOMAD 4.6.0 …").
  if (state.options.preset === 'nomad4') firstPass.sort((a, b) => lexicographicEps(a, b));
  return { kept, firstPass };
}

/** `Point::weakLess` on centre + a and centre + b, i.e. on a and b: coordinate by coordinate, ε-compared. */
function lexicographicEps(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    if (lessEps(a[i], b[i])) return -1;
    if (lessEps(b[i], a[i])) return 1;
  }
  return 0;
}

/**
 * ORTHO N+1 second pass (§3.4): NEG direction −Σ d_j, or for QUAD the minimiser of a quadratic
 * model over {c − Σ t_j d_j : t ∈ [0.01, 1]ⁿ} (NEG when no model). Not rescaled (Appendix D #10).
 */
export function generateSecondPass(state: EngineState, centreId: number, firstPass: number[][]): Candidate[] {
  const n = state.space.free.length;
  if (firstPass.length !== n || n === 0) return [];
  const centreRec = state.cache.get(centreId);
  let d: number[] | null = null;
  if (state.options.directionType === 'ORTHO N+1 QUAD' && modelsMayProposeNewPoints(state))
    d = quadSecondPassDirection(state, centreId, firstPass);
  if (d === null) {
    d = new Array<number>(n).fill(0);
    for (const dj of firstPass) for (let i = 0; i < n; i++) d[i] -= dj[i];
  }
  const full = displacementToFull(state.space, d);
  const raw = centreRec.x.map((c, i) => c + full[i]);
  const x = snapToMeshAndBounds(state.space, state.mesh, raw, centreRec.x);
  if (cacheKey(x) === cacheKey(centreRec.x)) return [];
  return [{ x, fromId: centreId, origin: 'poll' }];
}
