import type { OutputDefinition } from '../search-space/search-space';

/** A finished evaluation as the barrier sees it (MADS.md §1.4, §5: L2 `h`, feasible when h = 0). */
export interface Scored {
  f: number;
  h: number;
}

/** NOMAD's h with H_NORM L2: sum of squared positive PB values; any positive EB value makes it +∞. */
export function score(outputs: Readonly<Record<string, number>>, definitions: readonly OutputDefinition[]): Scored {
  let f = Number.POSITIVE_INFINITY;
  let h = 0;
  for (const output of definitions) {
    const value = outputs[output.name];
    if (output.type === 'objective') f = output.goal === 'maximize' ? -value : value;
    else if (output.type === 'constraint_pb' && value > 0) h += value * value;
    else if (output.type === 'constraint_eb' && value > 0) h = Number.POSITIVE_INFINITY;
  }
  return { f, h };
}

/** Feasible points first by objective; then infeasible ones by h, then objective (the barrier's order). */
export function compareScores(a: Scored, b: Scored): number {
  const aFeasible = a.h === 0;
  const bFeasible = b.h === 0;
  if (aFeasible !== bFeasible) return aFeasible ? -1 : 1;
  if (!aFeasible && a.h !== b.h) return a.h - b.h;
  return a.f - b.f;
}
