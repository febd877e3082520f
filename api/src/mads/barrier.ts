/**
 * Dominance, success types and the progressive barrier (§5.1, §5.3, §5.4; NOMAD 4.5.1,
 * src/Eval/ComputeSuccessType.cpp, src/Eval/ProgressiveBarrier.cpp,
 * `ProgressiveBarrier::updateWithPoints`).
 *
 * The barrier holds record ids; (f, h) come from an accessor so that Phase One (§5.5) can
 * substitute its own objective.
 */
import { isFeasible } from './evaluation';
import { decodeNumber, encodeNumber, equalEps, greaterEps, lessEps, type EncodedNumber } from '../math/numerics';
import { InfeasibleIndex } from './barrier-index';

/** Ordering of success types (§5.1): UNDEFINED < NO_TRIALS < UNSUCCESSFUL < PARTIAL < FULL. */
export enum Success {
  UNDEFINED = 0,
  NO_TRIALS = 1,
  UNSUCCESSFUL = 2,
  PARTIAL = 3,
  FULL = 4,
}

export interface FH {
  f: number;
  h: number;
}

/** x ≺ y (§5.1): f compared as plain doubles, h with ε. */
export function dominates(x: FH, y: FH): boolean {
  const fx = isFeasible(x.h);
  const fy = isFeasible(y.h);
  if (fx && fy) return x.f < y.f;
  if (!fx && !fy && x.h !== Infinity) {
    const hLe = !greaterEps(x.h, y.h);
    if (!(x.f <= y.f) || !hLe) return false;
    return x.f < y.f || lessEps(x.h, y.h);
  }
  return false;
}

/** `computeSuccessType(p1, p2, hMax)` (§5.1). null p1 = undefined point, null p2 = no reference. */
export function computeSuccessType(p1: FH | null, p2: FH | null, hMax: number): Success {
  if (p1 === null) return Success.UNDEFINED;
  const p1UnderHMax = !greaterEps(p1.h, hMax);
  if (p2 === null) {
    if (Number.isNaN(p1.h) || !p1UnderHMax || p1.h === Infinity) return Success.UNSUCCESSFUL;
    return isFeasible(p1.h) ? Success.FULL : Success.PARTIAL;
  }
  if (p1UnderHMax && !greaterEps(p2.h, hMax) && dominates(p1, p2)) return Success.FULL;
  const f1 = isFeasible(p1.h);
  const f2 = isFeasible(p2.h);
  if (f1 && f2) return Success.UNSUCCESSFUL;
  if (!f1 && !f2) return p1UnderHMax && lessEps(p1.h, p2.h) ? Success.PARTIAL : Success.UNSUCCESSFUL;
  return Success.UNDEFINED;
}

export interface BarrierState {
  xFeas: number[];
  xInf: number[];
  incFeas: number[];
  incInf: number[];
  hMax: number;
  /** Incumbents recorded at the previous mesh update (`updateRefBests`, §5.1 use 2). */
  refFeas: number | null;
  refInf: number | null;
  /**
   * Points were added since the incumbents and hMax were last derived (NOMAD's
   * `_incumbentsAndHMaxUpToDate` false): a step that was not a full success adds its points
   * without deriving them, and the next update that derives does it even with no new point
   * (`refreshIncumbents`). Absent = false (states stored before it restore as they were).
   */
  stale?: boolean;
}

export function emptyBarrier(hMax0: number): BarrierState {
  return { xFeas: [], xInf: [], incFeas: [], incInf: [], hMax: hMax0, refFeas: null, refInf: null };
}

export interface BarrierUpdate {
  feasSuccess: Success;
  infSuccess: Success;
}

/** Each barrier's index of its infeasible points (barrier-index.ts), built on its first update. */
const INDEXES = new WeakMap<BarrierState, InfeasibleIndex>();

function indexOf(state: BarrierState, fh: (id: number) => FH | null): InfeasibleIndex {
  let index = INDEXES.get(state);
  if (index === undefined || index.xInf !== state.xInf || index.size !== state.xInf.length) {
    index = new InfeasibleIndex(state.xInf, (id) => fh(id) as FH);
    INDEXES.set(state, index);
  }
  return index;
}

/**
 * `ProgressiveBarrier::updateWithPoints` (§5.3). Appendix D #5 (faithful): the infeasible success
 * test skips the first element of xInf.
 *
 * The infeasible points are kept ordered (barrier-index.ts), so an update costs O(log m) per point
 * added or removed instead of walks over the barrier's m infeasible points (docs/reliability.md,
 * finding 21); the results are those of the rules as written (barrier.spec.ts compares the two
 * over random sequences of updates). A point's (f, h) is read once, when it enters: the engine's
 * records are told once, and Phase One's end builds a new barrier (engine.ts, `mergeLate`).
 */
export function updateWithPoints(
  state: BarrierState,
  ids: readonly number[],
  fh: (id: number) => FH | null,
  updateIncumbentsAndHMax: boolean,
): BarrierUpdate {
  const index = indexOf(state, fh);
  let added = false;
  let rejected = false;
  // Membership in xFeas by a scan for the few points of a step, by a set for many (a merge of the
  // whole cache); xFeas holds the tied best points only after each full update.
  const inFeas = ids.length <= 8 ? null : new Set(state.xFeas);
  for (const id of ids) {
    const p = fh(id);
    if (p === null) continue;
    if (isFeasible(p.h)) {
      if (!(inFeas === null ? state.xFeas.includes(id) : inFeas.has(id))) {
        inFeas?.add(id);
        state.xFeas.push(id);
        added = true;
      }
    } else if (p.h < Infinity) {
      if (greaterEps(p.h, state.hMax)) rejected = true;
      else if (!index.has(id)) {
        index.add(id, p);
        added = true;
      }
    }
  }
  if (added) state.stale = true;
  const result: BarrierUpdate = { feasSuccess: Success.UNSUCCESSFUL, infSuccess: Success.UNSUCCESSFUL };
  // NOMAD derives the incumbents and hMax when points were added since they were last derived, by
  // this update or an earlier one that did not derive them, or when this update rejected points.
  if (!updateIncumbentsAndHMax || !(state.stale === true || rejected)) return result;
  delete state.stale;
  const get = (id: number): FH => fh(id) as FH;

  // a. feasible incumbents: all points tied at the best f.
  const fMinRef = state.incFeas.length > 0 ? get(state.incFeas[0]).f : Infinity;
  let fMin = Infinity;
  for (const id of state.xFeas) fMin = Math.min(fMin, get(id).f);
  state.xFeas = state.xFeas.filter((id) => !greaterEps(get(id).f, fMin));
  state.incFeas = [...state.xFeas];
  if (state.xFeas.length > 0 && lessEps(fMin, fMinRef)) result.feasSuccess = Success.FULL;

  // b. infeasible success: the best of computeSuccessType(xInf[k], previous incumbent, ∞), k ≥ 1.
  const prevInc = state.incInf.length > 0 ? get(state.incInf[0]) : null;
  if (prevInc === null) {
    if (state.xInf.length > 0) result.infSuccess = Success.FULL;
  } else if (index.settledIncumbents === state.incInf) {
    // For two infeasible points of finite h, computeSuccessType(p, prevInc, ∞) is FULL when p
    // dominates prevInc, else PARTIAL when p.h is ε below prevInc.h, else UNSUCCESSFUL. Only a
    // point added since the incumbents were derived can dominate one of them (InfeasibleIndex,
    // `settledIncumbents`), and the smallest h other than xInf[0]'s decides PARTIAL.
    const first = index.at(0);
    let best = state.xInf.length > 1 ? Success.UNSUCCESSFUL : Success.UNDEFINED;
    if (index.pending.some((e) => e !== first && computeSuccessType(e, prevInc, Infinity) === Success.FULL))
      best = Success.FULL;
    if (best === Success.UNSUCCESSFUL) {
      const low = index.smallestH(first);
      if (low !== undefined && lessEps(low.h, prevInc.h)) best = Success.PARTIAL;
    }
    result.infSuccess = best;
  } else {
    // A barrier restored from JSON (or whose incumbents were set outside): NOMAD's walk, once.
    let best = Success.UNDEFINED;
    for (let k = 1; k < state.xInf.length && best < Success.FULL; k++)
      best = Math.max(best, computeSuccessType(index.at(k), prevInc, Infinity));
    result.infSuccess = best;
  }

  // c. hMax.
  if (prevInc !== null) {
    if (result.feasSuccess === Success.FULL || result.infSuccess === Success.FULL) state.hMax = prevInc.h;
    else if (result.infSuccess === Success.PARTIAL) {
      const m = index.largestHBelow(prevInc.h, lessEps);
      if (m > -Infinity) state.hMax = m;
    } else state.hMax = prevInc.h;
  }

  // d. infeasible incumbents: non-dominated points under hMax with the largest h.
  const hMax = state.hMax;
  index.removeAbove((h) => greaterEps(h, hMax));
  state.incInf = index.hasNaNF ? infeasibleIncumbents(state.xInf, get) : index.simpleIncumbents(lessEps, equalEps);
  index.settledIncumbents = state.incInf;
  index.pending = [];
  return result;
}

/**
 * Derive the incumbents and hMax if points were added since they last were (`updateWithPoints`
 * with no point, as NOMAD's `MegaIteration::endImp` calls it when a (sub-)algorithm ends: the
 * Nelder–Mead search at the end of every NM run, the inner MADS of the model searches at its
 * stop). Why: a failed search step adds its points without deriving the incumbents, and in
 * NOMAD the NM search that follows derives them before the poll chooses its centres — an
 * infeasible point of a failed quadratic-model search becomes the secondary poll centre there.
 */
export function refreshIncumbents(state: BarrierState, fh: (id: number) => FH | null): void {
  if (state.stale === true) updateWithPoints(state, [], fh, true);
}

/**
 * Rule d of §5.3: the non-dominated points of `ids` with the largest h (within ε), in their order —
 * `nonDominatedInfeasible` then the largest h, in one O(m) pass. Why: the barrier is updated after
 * every step, and the model search's inner MADS updates its own one up to ~1,000 times per model
 * optimisation while its xInf holds up to ~1,000 points (a constraint model no point satisfies
 * keeps every infeasible point under hMax), so sorting xInf at each update made one engine call
 * take 1–4 s on a single variable (docs/reliability.md, finding 21).
 *
 * Among non-dominated infeasible points a smaller f comes with a larger h (a point of smallest f
 * and smallest h among those dominates every point of larger f whose h is not ε below its own),
 * so the incumbents are the non-dominated points of the smallest f: those whose h is not ε above
 * the smallest h of the *other* points of that f. A NaN f neither dominates nor is dominated and
 * can then hold the largest h: such sets (and feasible or infinite-h points, which xInf never
 * holds) take the general route.
 */
export function infeasibleIncumbents(ids: readonly number[], get: (id: number) => FH): number[] {
  let fMin = Infinity;
  let simple = true;
  for (const id of ids) {
    const p = get(id);
    if (Number.isNaN(p.f) || isFeasible(p.h) || !(p.h < Infinity)) {
      simple = false;
      break;
    }
    if (p.f < fMin) fMin = p.f;
  }
  if (!simple) {
    const nonDominated = nonDominatedInfeasible(ids, get);
    let maxH = -Infinity;
    for (const id of nonDominated) maxH = Math.max(maxH, get(id).h);
    return nonDominated.filter((id) => equalEps(get(id).h, maxH));
  }
  // The two smallest h among the points of f = fMin (as nonDominatedInfeasible's first group).
  let first = -1;
  let second = -1;
  ids.forEach((id, k) => {
    const p = get(id);
    if (p.f !== fMin) return;
    if (first < 0 || p.h < get(ids[first]).h) [first, second] = [k, first];
    else if (second < 0 || p.h < get(ids[second]).h) second = k;
  });
  const kept: number[] = [];
  let maxH = -Infinity;
  ids.forEach((id, k) => {
    const p = get(id);
    if (p.f !== fMin) return;
    const other = k === first ? second : first;
    if (other >= 0 && lessEps(get(ids[other]).h, p.h)) return;
    kept.push(k);
    maxH = Math.max(maxH, p.h);
  });
  return kept.filter((k) => equalEps(get(ids[k]).h, maxH)).map((k) => ids[k]);
}

/**
 * The points of `ids` that no other point of `ids` dominates (§5.1, infeasible points with finite
 * h), in their order: the same set as testing every pair with `dominates`, in O(m log m) instead of
 * O(m²). Why it matters: the barrier keeps every infeasible point under hMax, and while nothing is
 * feasible — a constraint no point can satisfy, or a quadratic model of one inside the model
 * search's inner MADS (its 2,000 model evaluations) — hMax need not fall, so the set grows with
 * every evaluation and the pairwise test made one engine call take seconds (docs/algorithm.md,
 * "Cost of the models").
 *
 * For infeasible points, o dominates p iff o.f ≤ p.f, o.h ≤ p.h + ε and (o.f < p.f or
 * o.h < p.h − ε). Both tests on h are monotone in o.h, so p is dominated iff the smallest h among
 * the points with a smaller f is ≤ p.h + ε, or the smallest h among the *other* points with the
 * same f is < p.h − ε. A NaN f compares false both ways: such a point neither dominates nor is
 * dominated.
 */
export function nonDominatedInfeasible(ids: readonly number[], get: (id: number) => FH): number[] {
  const m = ids.length;
  const f = new Float64Array(m);
  const h = new Float64Array(m);
  let allInfeasible = true;
  for (let k = 0; k < m; k++) {
    const p = get(ids[k]);
    f[k] = p.f;
    h[k] = p.h;
    if (isFeasible(p.h) || !(p.h < Infinity)) allInfeasible = false;
  }
  // The barrier's xInf holds infeasible points with finite h only; should a caller pass others,
  // the pairwise definition stays the reference.
  if (!allInfeasible) {
    const fh = (k: number): FH => ({ f: f[k], h: h[k] });
    return ids.filter((_, k) => !ids.some((__, o) => o !== k && dominates(fh(o), fh(k))));
  }
  const order: number[] = [];
  for (let k = 0; k < m; k++) if (!Number.isNaN(f[k])) order.push(k);
  order.sort((a, b) => (f[a] < f[b] ? -1 : f[a] > f[b] ? 1 : 0));
  const dominated = new Uint8Array(m);
  let minHBefore = Infinity; // smallest h among the points with a strictly smaller f
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end < order.length && f[order[end]] === f[order[start]]) end++;
    // The two smallest h of the group, so that "the others' smallest" is known for each member.
    let first = -1;
    let second = -1;
    for (let i = start; i < end; i++) {
      const k = order[i];
      if (first < 0 || h[k] < h[first]) [first, second] = [k, first];
      else if (second < 0 || h[k] < h[second]) second = k;
    }
    for (let i = start; i < end; i++) {
      const k = order[i];
      const other = k === first ? second : first;
      if ((other >= 0 && lessEps(h[other], h[k])) || !greaterEps(minHBefore, h[k])) dominated[k] = 1;
    }
    minHBefore = Math.min(minHBefore, h[first]);
    start = end;
  }
  return ids.filter((_, k) => dominated[k] === 0);
}

export interface BarrierJson {
  xFeas: number[];
  xInf: number[];
  incFeas: number[];
  incInf: number[];
  hMax: EncodedNumber;
  refFeas: number | null;
  refInf: number | null;
  stale?: boolean;
}

export function barrierToJson(s: BarrierState): BarrierJson {
  return { ...s, hMax: encodeNumber(s.hMax) };
}

export function barrierFromJson(j: BarrierJson): BarrierState {
  return {
    xFeas: [...j.xFeas],
    xInf: [...j.xInf],
    incFeas: [...j.incFeas],
    incInf: [...j.incInf],
    hMax: decodeNumber(j.hMax),
    refFeas: j.refFeas,
    refInf: j.refInf,
    ...(j.stale === true ? { stale: true } : {}),
  };
}
