/**
 * Minimisation of a model inside a box (MADS.md §4.3 step 3). NOMAD runs an inner MADS
 * (ORTHO 2N, consuming the global RNG); this engine uses a deterministic compass search with
 * step doubling/halving and the same (f, h) preference (feasible first, then lower f; among
 * infeasible points lower h, then lower f), capped at QUAD_MODEL_MAX_EVAL model evaluations.
 */

export interface ModelPoint {
  x: number[];
  f: number;
  h: number;
}

export interface ModelOptimum {
  bestFeasible: ModelPoint | null;
  bestInfeasible: ModelPoint | null;
}

function better(a: ModelPoint, b: ModelPoint): boolean {
  const fa = a.h === 0;
  const fb = b.h === 0;
  if (fa !== fb) return fa;
  if (fa) return a.f < b.f;
  return a.h < b.h || (a.h === b.h && a.f < b.f);
}

export function minimizeInBox(
  evaluate: (x: readonly number[]) => { f: number; h: number },
  lower: readonly number[],
  upper: readonly number[],
  start: readonly number[],
  maxEval: number,
): ModelOptimum {
  const d = start.length;
  const width = lower.map((l, i) => upper[i] - l);
  const active = width.map((w) => w > 0);
  const step = width.map((w) => w / 4);
  const result: ModelOptimum = { bestFeasible: null, bestInfeasible: null };
  let evals = 0;
  const visit = (x: number[]): ModelPoint | null => {
    const { f, h } = evaluate(x);
    evals++;
    if (!Number.isFinite(f) || !Number.isFinite(h)) return null;
    const p = { x, f, h };
    if (h === 0) {
      if (result.bestFeasible === null || p.f < result.bestFeasible.f) result.bestFeasible = p;
    } else if (result.bestInfeasible === null || better(p, result.bestInfeasible)) result.bestInfeasible = p;
    return p;
  };
  let current = visit([...start]);
  if (current === null || !active.some((a) => a)) return result;
  while (evals < maxEval) {
    let improved: ModelPoint | null = null;
    for (let i = 0; i < d && evals < maxEval; i++) {
      if (!active[i]) continue;
      for (const sign of [1, -1]) {
        const x = [...current.x];
        x[i] = Math.min(upper[i], Math.max(lower[i], x[i] + sign * step[i]));
        if (x[i] === current.x[i]) continue;
        const p = visit(x);
        if (p !== null && better(p, improved ?? current)) improved = p;
        if (evals >= maxEval) break;
      }
    }
    if (improved !== null) {
      current = improved;
      for (let i = 0; i < d; i++) step[i] = Math.min(step[i] * 2, width[i]);
    } else {
      let tiny = true;
      for (let i = 0; i < d; i++) {
        step[i] /= 2;
        if (active[i] && step[i] > 1e-9 * width[i]) tiny = false;
      }
      if (tiny) break;
    }
  }
  return result;
}
