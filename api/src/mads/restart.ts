/**
 * The initial mesh (§2.2) and restarts on the minimum mesh (`restartOnMinMesh`,
 * docs/algorithm.md, "Using the whole budget"): with evaluations left, a frame that cannot
 * shrink any more is reset around the incumbent to 2^k times its initial size at the k-th
 * restart, so the study keeps exploring instead of stopping with budget unused.
 */
import type { ProblemSpec } from '../optimizer-contract/algorithm';
import { createMesh, defaultInitialFrameSize, meshSizes, type MeshState } from './mesh';
import { nextMult } from '../math/numerics';
import type { MadsOptions } from './options';
import { updateCurrentFlightMesh } from './pipeline';
import type { Space } from './space';
import type { EngineState } from './state';

/** Restarts in a row that add no point to the cache before the engine stops after all. */
const MAX_FRUITLESS_RESTARTS = 3;

/**
 * The §2.2 initial mesh; `growth` > 1 (restarts) multiplies the initial frame, capped at half
 * the variable's range so that polls stay inside the bounds' reach (never below the initial).
 */
export function initialMesh(problem: ProblemSpec, opts: MadsOptions, space: Space, growth = 1): MeshState {
  const free = space.free;
  const g = free.map((i) => space.granularity[i]);
  const pick = (arr: (number | null)[] | null, i: number): number | null => (arr === null ? null : (arr[i] ?? null));
  const minMesh = free.map((i, k) => pick(opts.minMeshSize, i) ?? fractionOfRange(problem, opts, i, g[k]));
  const minFrame = free.map((i, k) => pick(opts.minFrameSize, i) ?? g[k]);
  const initialFrame = free.map((i, k) => {
    const given = pick(opts.initialFrameSize, i);
    if (given !== null) return Math.max(nextMult(given, g[k]), minFrame[k]);
    const v = problem.variables[i];
    const lb = v.type === 'B' ? 0 : v.lowerBound;
    const ub = v.type === 'B' ? 1 : v.upperBound;
    const base = defaultInitialFrameSize(
      lb,
      ub,
      problem.x0.map((x) => x[i]),
      g[k],
      minFrame[k],
    );
    if (growth === 1) return base;
    const cap = lb !== null && ub !== null ? (ub - lb) / 2 : Infinity;
    return Math.max(base, nextMult(Math.min(base * growth, cap), g[k]));
  });
  return createMesh(initialFrame, g, minMesh, minFrame, opts.frameRounding);
}

/**
 * `minMeshFraction` × range for a bounded continuous variable, else g (NOMAD's default: g, or 0
 * for a continuous variable, which leaves the mesh index limit −50 as the only floor). On
 * `hpo_gb_breast_cancer` that floor let 16 runners spend 189–285 of 400 evaluations within 1e−3
 * of a grid line of the continuous axis around a lattice local minimum, with one restart
 * (docs/benchmarks.md, "Trace: why 16 runners never solve hpo_gb_breast_cancer").
 */
function fractionOfRange(problem: ProblemSpec, opts: MadsOptions, i: number, g: number): number {
  const v = problem.variables[i];
  const fraction = opts.minMeshFraction ?? 0;
  if (g > 0 || fraction <= 0 || v.type !== 'R' || v.lowerBound === null || v.upperBound === null) return g;
  return fraction * (v.upperBound - v.lowerBound);
}

/**
 * Called where NOMAD would stop on the mesh (MIN_MESH_SIZE_REACHED, MIN_FRAME_SIZE_REACHED,
 * MESH_PREC_REACHED, endless cache hits). Returns true when the engine restarted instead.
 */
export function tryRestart(state: EngineState): boolean {
  if (!state.options.restartOnMinMesh) return false;
  const max = state.problem.maxEvaluations;
  if (max === null || state.evaluations + state.inFlight >= max) return false;
  const r = state.restart;
  r.fruitless = state.cache.size === r.cacheSize ? r.fruitless + 1 : 0;
  if (r.fruitless === 0) r.fineGlobalTried = false;
  r.fineGlobal = false;
  if (r.fruitless >= MAX_FRUITLESS_RESTARTS) {
    // The restarted meshes are exhausted, not necessarily the space: a restarted frame is capped
    // at half the range, so every restart around the same incumbent lays the same coarse lattice
    // (1 continuous variable on [-5, 5]: 10 points), and the engine stopped with evaluations left
    // on any landscape (docs/reliability.md, finding 20). One last global step samples the box on
    // the granularity; only when that finds nothing new either is the space taken as exhausted.
    // A mesh already on the granularity everywhere (an integer lattice) has no finer points.
    const onGranularity = meshSizes(state.mesh).every((d, k) => d <= state.space.granularity[state.space.free[k]]);
    if (r.fineGlobalTried === true || onGranularity) return false;
    r.fineGlobalTried = true;
    r.fineGlobal = true;
  }
  // Widening found nothing new last time: explore the whole box as well.
  r.globalPending = r.fruitless > 0;
  r.count++;
  r.cacheSize = state.cache.size;
  // Each restart doubles the frame (a VNS-like widening neighbourhood): on a small integer
  // grid the initial frame is already the minimum, and the same frame would find nothing new.
  state.mesh = initialMesh(state.problem, state.options, state.space, 2 ** Math.min(r.count, 20));
  state.emptyIterations = 0;
  updateCurrentFlightMesh(state);
  return true;
}
