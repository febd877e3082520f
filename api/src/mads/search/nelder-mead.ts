/**
 * Nelder–Mead search (NOMAD 4.5.1, src/Algos/Mads/NMSearchMethod.cpp, src/Algos/NelderMead/*).
 *
 * Initial simplex from cache points within NM_SIMPLEX_INCLUDE_FACTOR·Δ of the incumbent (rank
 * test), then reflect / expand / outside / inside contraction steps, one point per engine step,
 * each projected on the MADS mesh relative to the incumbent and snapped. No shrink in search
 * mode: a shrink ends the search. Cap NM_SEARCH_MAX_TRIAL_PTS_NFACTOR·n points (Appendix D #3,
 * "intended": NOMAD 4.5.1 resets the cap; 0 restores that behaviour).
 */
import { dominates, type FH } from '../barrier';
import { newStep } from '../step';
import { frameSizes } from '../mesh';
import { euclideanNorm, rankOf, RowSpan } from '../model/linalg';
import { cacheKey, snapToMeshAndBounds, toFree } from '../space';
import type { EvaluationCache } from '../cache';
import { fhOf, type EngineState, type NmPhase, type NmState, type Step } from '../state';

/** NM_SIMPLEX_INCLUDE_FACTOR. */
const INCLUDE_FACTOR = 8;
/** NM_SEARCH_RANK_EPS (insertion rank test). */
const RANK_EPS = 0.01;
/** Rank tolerance of the initial simplex. */
const INITIAL_RANK_EPS = 1e-13;

/**
 * Bound on Σ rows²·n over the rank tests of one simplex construction (each test is a Jacobi SVD of
 * rows × n, whose sweeps cost a few hundred times rows²·n in this code): about 25 ms of CPU on the
 * development machine. Without it, a 200-variable study spent over 10 s of one call on these
 * tests, holding the engine thread every study shares. A construction that would pass the bound
 * even if every test succeeded (Σ_{m ≤ n} m²·n, from n ≈ 19 on) is not started; one that passes it
 * on failed tests is abandoned. Either way the NM search is skipped for that iteration, as when
 * the cache holds too few points. docs/algorithm.md, "Cost of the models".
 */
const NM_SIMPLEX_WORK_LIMIT = 5e4;
/** NM_DELTA_E, NM_DELTA_OC, NM_DELTA_IC. */
const DELTA: Readonly<Record<NmPhase, number>> = { reflect: 1, expand: 2, oc: 0.5, ic: -0.5 };

function fh(state: EngineState, id: number): FH | null {
  return fhOf(state, id);
}

/** NM order: a before b if a dominates b; else lower h; else older point (§4.2). */
function nmCompare(state: EngineState, a: number, b: number): number {
  const pa = fh(state, a) as FH;
  const pb = fh(state, b) as FH;
  if (dominates(pa, pb)) return -1;
  if (dominates(pb, pa)) return 1;
  if (pa.h !== pb.h) return pa.h < pb.h ? -1 : 1;
  return a - b;
}

/** Rank of [y_1 − y_0, …, y_k − y_0] with differences divided by Δ (§4.2). */
function simplexRank(state: EngineState, ids: readonly number[]): (eps: number) => number {
  const frames = frameSizes(state.mesh);
  const y0 = toFree(state.space, state.cache.get(ids[0]).x);
  const rows = ids
    .slice(1)
    .map((id) => toFree(state.space, state.cache.get(id).x).map((v, i) => (v - y0[i]) / frames[i]));
  return (eps) => rankOf(rows, eps);
}

export function nmStartSearch(state: EngineState): Step | null {
  const centreId = state.barrier.incFeas[0] ?? state.barrier.incInf[0];
  const n = state.space.free.length;
  if (centreId === undefined || n === 0 || state.phaseOne) return null;
  // Checked before the candidates are gathered: the simplex could not be built within the bound.
  if ((n * n * (n + 1) * (2 * n + 1)) / 6 > NM_SIMPLEX_WORK_LIMIT) return null;
  const frames = frameSizes(state.mesh);
  const key = `${state.cache.version} ${centreId} ${frames.join(',')}`;
  const last = lastSimplex.get(state.cache);
  const simplex = last?.key === key ? last.simplex : initialSimplex(state, centreId, frames);
  lastSimplex.set(state.cache, { key, simplex });
  if (simplex === null) return null;
  state.nm = { simplex: [...simplex], centreId, phase: 'reflect', reflectId: -1, trials: 0, fullSuccess: false };
  return proceed(state, 'reflect');
}

/**
 * The last simplex construction of each cache, with what it depended on: the records (their
 * version), the centre and the frame. Why: on an exhausted lattice the engine runs iteration after
 * iteration whose points are all cached (up to MAX_EMPTY_ITERATIONS, engine.ts), and each built
 * the same simplex again — 1,200 rank tests in one call of a 6-binary study, 2,600 before
 * `RowSpan` (docs/reliability.md, finding 22). The same inputs give the same simplex, so the
 * search is NOMAD's. Kept beside the state, not in it: nothing to persist.
 */
const lastSimplex = new WeakMap<EvaluationCache, { key: string; simplex: readonly number[] | null }>();

/** The initial simplex (§4.2): n + 1 affinely independent cache points near the centre, or null. */
function initialSimplex(state: EngineState, centreId: number, frames: readonly number[]): number[] | null {
  const n = state.space.free.length;
  const c = toFree(state.space, state.cache.get(centreId).x);
  const candidates = state.cache.records
    .filter((r) => r.modelOk && r.h < Infinity)
    .filter((r) => toFree(state.space, r.x).every((v, i) => Math.abs(v - c[i]) <= INCLUDE_FACTOR * frames[i] + 1e-13))
    .map((r) => r.id)
    .sort((a, b) => nmCompare(state, a, b));
  if (candidates.length < n + 1) return null;
  const simplex = [candidates[0]];
  const first = toFree(state.space, state.cache.get(candidates[0]).x);
  const span = new RowSpan();
  let work = 0;
  for (const id of candidates.slice(1)) {
    if (simplex.length >= n + 1) break;
    // A candidate that lies in the affine span of the kept points cannot raise the rank: the
    // smallest singular value of the difference rows is at most the new row's distance to the
    // others' span, so at or below the tolerance the SVD would keep the rank — skip it for
    // simplex.length·n of work. On binary and categorical lattices most candidates are such
    // points (finding 22: there the SVDs of these tests were most of an engine call's CPU).
    const y = toFree(state.space, state.cache.get(id).x);
    const residual = span.residual(y.map((v, i) => (v - first[i]) / frames[i]));
    work += simplex.length * n;
    if (work > NM_SIMPLEX_WORK_LIMIT) return null;
    if (euclideanNorm(residual) <= INITIAL_RANK_EPS) continue;
    // Each kept point raised the rank by one, so the simplex's rank is its size − 1: only the
    // candidate's rank test needs an SVD (NOMAD computes both; its verdict decides, as NOMAD's).
    work += simplex.length * simplex.length * n;
    if (work > NM_SIMPLEX_WORK_LIMIT) return null;
    if (simplexRank(state, [...simplex, id])(INITIAL_RANK_EPS) > simplex.length - 1) {
      simplex.push(id);
      span.add(residual);
    }
  }
  return simplex.length < n + 1 ? null : simplex;
}

/**
 * NM points are generated from the barrier's current first point (§5.2): the incumbent is
 * updated after every NM point, so later points get the newer incumbent as pointFrom.
 */
function currentCentre(state: EngineState, nm: NmState): number {
  return state.barrier.incFeas[0] ?? state.barrier.incInf[0] ?? nm.centreId;
}

/** The point y_c + δ(y_c − y_n) for the current simplex, projected and snapped. */
function trialPoint(state: EngineState, nm: NmState, phase: NmPhase): number[] | null {
  const pts = nm.simplex.map((id) => state.cache.get(id).x);
  const last = pts[pts.length - 1];
  const dim = last.length;
  const yc = new Array<number>(dim).fill(0);
  for (const p of pts.slice(0, -1)) for (let i = 0; i < dim; i++) yc[i] += p[i] / (pts.length - 1);
  const raw = yc.map((v, i) => v + DELTA[phase] * (v - last[i]));
  const centre = state.cache.get(currentCentre(state, nm)).x;
  const x = snapToMeshAndBounds(state.space, state.mesh, raw, centre);
  return cacheKey(x) === cacheKey(last) ? null : x;
}

/**
 * Generate the point of `phase`; returns the step to evaluate it, or handles cached points
 * immediately. null ends the NM search.
 */
function proceed(state: EngineState, phase: NmPhase): Step | null {
  for (let guard = 0; guard < 1000; guard++) {
    const nm = state.nm;
    if (nm === null) return null;
    const cap = state.options.nmMaxTrialPointsNFactor * state.space.free.length;
    if (cap > 0 && nm.trials >= cap) return null;
    nm.phase = phase;
    const x = trialPoint(state, nm, phase);
    if (x === null) return null;
    nm.trials++;
    const cached = state.cache.find(x);
    if (cached === undefined) {
      return newStep(state, 'nm', [{ x, fromId: currentCentre(state, nm), origin: 'search' }], false);
    }
    // A cached reflect point leads to an inside contraction (§4.2); other cached points are
    // used as they are when evaluated, and end the search otherwise.
    if (phase === 'reflect') {
      phase = 'ic';
      nm.reflectId = cached.id;
      continue;
    }
    if (cached.status !== 'ok') return null;
    const next = decide(state, nm, cached.id);
    if (next === null) return null;
    phase = next;
  }
  return null;
}

/** Called when an NM step ends; returns the next NM step or null when the search is over. */
export function nmFinishStep(state: EngineState, step: Step): Step | null {
  const nm = state.nm;
  if (nm === null) return null;
  if (step.fullSuccess) nm.fullSuccess = true;
  const id = step.returned[0];
  if (id === undefined || fh(state, id) === null) return null;
  const next = decide(state, nm, id);
  return next === null ? null : proceed(state, next);
}

/** NM zones (§4.2): what to do after the point of `nm.phase` was evaluated (id). */
function decide(state: EngineState, nm: NmState, id: number): NmPhase | null {
  const p = fh(state, id);
  if (p === null) return null;
  const sx = nm.simplex.map((s) => fh(state, s) as FH);
  const y0 = sx.filter((a, i) => !sx.some((b, j) => j !== i && dominates(b, a)));
  const yn = sx.filter((a, i) => !sx.some((b, j) => j !== i && dominates(a, b)));
  switch (nm.phase) {
    case 'reflect': {
      nm.reflectId = id;
      if (y0.some((q) => dominates(p, q))) return 'expand';
      const last = sx[sx.length - 1];
      if (yn.some((q) => dominates(q, p)) || p.h > last.h) return 'ic';
      if (sx.filter((q) => dominates(p, q)).length >= 2) return insert(state, nm, id) ? 'reflect' : null;
      return 'oc';
    }
    case 'expand':
    case 'oc': {
      const r = fh(state, nm.reflectId);
      const best = r !== null && !dominates(p, r) ? nm.reflectId : id;
      return insert(state, nm, best) ? 'reflect' : null;
    }
    case 'ic':
      if (yn.some((q) => dominates(q, p))) return null; // would shrink: the search stops
      return insert(state, nm, id) ? 'reflect' : null;
  }
}

/** Insert keeping the NM order, drop the worst point; fails if the point would be the worst or the rank drops. */
function insert(state: EngineState, nm: NmState, id: number): boolean {
  if (nm.simplex.includes(id)) return false;
  const pos = nm.simplex.findIndex((s) => nmCompare(state, id, s) < 0);
  if (pos < 0) return false;
  const next = [...nm.simplex];
  next.splice(pos, 0, id);
  next.pop();
  if (simplexRank(state, next)(RANK_EPS) < state.space.free.length) return false;
  nm.simplex = next;
  return true;
}
