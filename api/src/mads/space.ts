/**
 * The variable space of a problem (NOMAD 4.5.1, src/Param/PbParameters.cpp,
 * `PbParameters::setGranularityAndBBInputType`, `PbParameters::setFixedVariables`): effective
 * granularity per type, bounds, fixed variables, and the "snap" applied to every trial point
 * (§2.5). MADS runs on the free variables; points are always kept in full dimension.
 */
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { meshSizeOf, projectCoordinate, type MeshState } from './mesh';
import { isMultipleOf, roundHalfAway, roundToPrecision } from '../math/numerics';

export interface Space {
  /** Full dimension. */
  dimension: number;
  /** Indices of the free (non-fixed) variables; mesh arrays are indexed by position here. */
  free: number[];
  lower: number[];
  upper: number[];
  /** Effective granularity (`PbParameters::setGranularityAndBBInputType`): I ⇒ max(g, 1), B ⇒ 1. */
  granularity: number[];
  /** I and B variables are rounded to integers (POINT_FORMAT, §1.1). */
  integer: boolean[];
  fixed: (number | null)[];
}

export function createSpace(problem: ProblemSpec): Space {
  const space: Space = {
    dimension: problem.variables.length,
    free: [],
    lower: [],
    upper: [],
    granularity: [],
    integer: [],
    fixed: [],
  };
  problem.variables.forEach((v, i) => {
    let lb = v.lowerBound ?? -Infinity;
    let ub = v.upperBound ?? Infinity;
    let g = v.granularity;
    if (v.type === 'I') g = Math.max(g, 1);
    if (v.type === 'B') {
      g = 1;
      lb = 0;
      ub = 1;
    }
    space.lower.push(lb);
    space.upper.push(ub);
    space.granularity.push(g);
    space.integer.push(v.type !== 'R');
    space.fixed.push(v.fixedValue);
    if (v.fixedValue === null) space.free.push(i);
  });
  return space;
}

export function toFree(space: Space, x: readonly number[]): number[] {
  return space.free.map((i) => x[i]);
}

/** Re-expand a free-coordinate displacement to full dimension (zero on fixed variables). */
export function displacementToFull(space: Space, d: readonly number[]): number[] {
  const out = new Array<number>(space.dimension).fill(0);
  space.free.forEach((i, k) => {
    out[i] = d[k];
  });
  return out;
}

/**
 * Clip to bounds and round to POINT_FORMAT precision (clipped back if rounding crossed a bound).
 * Deviation from NOMAD: a granular coordinate that clipping (or a told point used as a centre)
 * left off its granularity is moved to the nearest multiple of g inside the bounds, so every
 * suggestion is on the granularity.
 */
export function clipAndRound(space: Space, x: readonly number[]): number[] {
  return x.map((v, i) => {
    const fixed = space.fixed[i];
    if (fixed !== null) return fixed;
    const lb = space.lower[i];
    const ub = space.upper[i];
    let c = Math.min(Math.max(v, lb), ub);
    const g = space.granularity[i];
    if (g > 0 && !isMultipleOf(c, g)) {
      let m = roundHalfAway(c / g) * g;
      if (m > ub) m -= g;
      if (m < lb) m += g;
      if (m >= lb && m <= ub) c = m;
    }
    c = roundToPrecision(c, space.integer[i]);
    return Math.min(Math.max(c, lb), ub);
  });
}

/**
 * `IterationUtils::snapPointToBoundsAndProjectOnMesh` (§2.5): project on the mesh relative to the
 * frame centre, clip to the bounds, round to POINT_FORMAT.
 */
export function snapToMeshAndBounds(
  space: Space,
  mesh: MeshState,
  point: readonly number[],
  centre: readonly number[],
): number[] {
  const projected = [...point];
  space.free.forEach((i, k) => {
    projected[i] = projectCoordinate(point[i], centre[i], meshSizeOf(mesh, k));
  });
  return clipAndRound(space, projected);
}

/**
 * Cache key (§5.6): NOMAD compares coordinates after truncation to the 1e-13 grid; we round to
 * that grid so that 0.3 and 0.30000000000000004 are the same point. The rounded doubles are
 * packed into a binary string (fast to build and to hash).
 */
export function cacheKey(x: readonly number[]): string {
  const f64 = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const r = Math.round(x[i] * 1e13);
    f64[i] = r === 0 ? 0 : r;
  }
  return String.fromCharCode.apply(null, Array.from(new Uint16Array(f64.buffer)));
}

export function samePoint(a: readonly number[], b: readonly number[]): boolean {
  return cacheKey(a) === cacheKey(b);
}
