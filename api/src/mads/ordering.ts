/**
 * Evaluation order of a step's trial points (`EVAL_QUEUE_SORT`; NOMAD 4.5.1,
 * src/Eval/EvaluatorControl.cpp, `EvaluatorControl::sort`, src/Eval/ComparePriority.cpp): quadratic
 * model when one can be built, else DIR_LAST_SUCCESS (angle with the last successful direction),
 * else generation order. Sorting only happens with opportunism and ≥ 2 points.
 */
import { isFeasible } from './evaluation';
import { dot, norm2 } from '../math/numerics';
import { modelOrder } from './search/quad-model';
import { cacheKey, toFree } from './space';
import type { Candidate, EngineState } from './state';

export function sortCandidates(state: EngineState, cands: Candidate[]): Candidate[] {
  if (!state.options.opportunistic || cands.length < 2) return cands;
  // Every caller drops the cached points after sorting (a step's queue, the ORTHO N+1 reduction,
  // the idle points) or passes none, so with fewer than two new points the order changes nothing
  // evaluated: no model is fitted for it. Why: on an exhausted lattice the engine runs iteration
  // after iteration whose poll points are all cached (up to MAX_EMPTY_ITERATIONS, engine.ts), and
  // each fitted a model only to sort them — 100 fits in one call of a 5-variable study with 15
  // constraints (docs/reliability.md, finding 22).
  if (newPointCount(state, cands) < 2) return cands;
  if (state.options.evalQueueSort === 'QUADRATIC_MODEL') {
    const byModel = modelOrder(state, cands);
    if (byModel !== null) return byModel;
  }
  return sortByLastSuccess(state, cands);
}

/** Distinct candidates not in the cache, counted up to 2. */
function newPointCount(state: EngineState, cands: readonly Candidate[]): number {
  let first: string | null = null;
  for (const c of cands) {
    const key = cacheKey(c.x);
    if (state.cache.hasKey(key) || key === first) continue;
    if (first !== null) return 2;
    first = key;
  }
  return first === null ? 0 : 1;
}

/** DIR_LAST_SUCCESS: ascending angle with the last success direction matching the centre's feasibility. */
export function sortByLastSuccess(state: EngineState, cands: Candidate[]): Candidate[] {
  const keyed = cands.map((c, tag) => {
    const centre = state.cache.get(c.fromId);
    let angle = Infinity;
    if (centre !== undefined) {
      const feasible = centre.status === 'ok' && (state.phaseOne || isFeasible(centre.h));
      const dir = feasible ? state.lastDirFeas : state.lastDirInf;
      if (dir !== null) {
        const cx = toFree(state.space, centre.x);
        const d = toFree(state.space, c.x).map((v, i) => v - cx[i]);
        const nd = norm2(d);
        const nl = norm2(dir);
        if (nd > 0 && nl > 0) angle = Math.acos(Math.max(-1, Math.min(1, dot(d, dir) / (nd * nl))));
      }
    }
    return { c, tag, angle };
  });
  if (keyed.every((k) => k.angle === Infinity)) return cands;
  keyed.sort((p, q) => (p.angle === q.angle ? p.tag - q.tag : p.angle < q.angle ? -1 : 1));
  return keyed.map((k) => k.c);
}
