/**
 * NOMAD's granular mesh, GMesh (NOMAD 4.5.1, src/Algos/Mads/GMesh.cpp).
 *
 * Per (free) variable i: mantissa a ∈ {1, 2, 5}, exponent b, initial exponent b0, mesh index r,
 * granularity g. Frame Δ = G·a·10^b (G = g or 1); the mesh size δ follows from Δ (§2.1).
 * All arrays here are indexed by *free* variable.
 */
import { EPS, greaterEps, isMultipleOf, lessEps, log10Snapped, nextMult, pow10, roundHalfAway } from '../math/numerics';

export type Mantissa = 1 | 2 | 5;

export interface MeshState {
  a: Mantissa[];
  b: number[];
  b0: number[];
  r: number[];
  granularity: number[];
  minMeshSize: number[];
  minFrameSize: number[];
}

/**
 * How the initial frame size is turned into (a, b0) (NOMAD 4.5.1, src/Algos/Mads/GMesh.cpp,
 * GMesh::roundFrameSizeExp; docs/algorithm.md, quirk #1).
 */
export type FrameRounding = 'nomad' | 'floor';

/** Initial frame size of one variable before (a, b) conversion (`PbParameters::setInitialMeshParameters`). */
export function defaultInitialFrameSize(
  lb: number | null,
  ub: number | null,
  x0Values: readonly number[],
  granularity: number,
  minFrameSize: number,
): number {
  const x0min = Math.min(...x0Values);
  const x0max = Math.max(...x0Values);
  let delta: number;
  if (lb !== null && ub !== null) delta = 0.1 * (ub - lb);
  else if (lb !== null && x0min !== lb) delta = (x0min - lb) / 10;
  else if (ub !== null && x0max !== ub) delta = (ub - x0max) / 10;
  else if (Math.abs(x0min) > 10 * EPS) delta = Math.abs(x0min) / 10;
  else delta = 1;
  delta = nextMult(delta, granularity);
  return Math.max(delta, minFrameSize);
}

/** `GMesh::initFrameSizeGranular`: Δ0 → (a, b0). 'nomad' truncates the decade toward zero. */
export function decodeFrameSize(
  frameSize: number,
  granularity: number,
  rounding: FrameRounding,
): { a: Mantissa; b: number } {
  const G = granularity > 0 ? granularity : 1;
  const q = frameSize / G;
  const l = log10Snapped(q);
  const b = rounding === 'nomad' ? Math.trunc(l) : Math.floor(l);
  const m = q * pow10(-b);
  const a: Mantissa = m < 1.5 ? 1 : m < 3.5 ? 2 : 5;
  return { a, b: b === 0 ? 0 : b };
}

export function createMesh(
  initialFrameSize: readonly number[],
  granularity: readonly number[],
  minMeshSize: readonly number[],
  minFrameSize: readonly number[],
  rounding: FrameRounding,
): MeshState {
  const mesh: MeshState = {
    a: [],
    b: [],
    b0: [],
    r: [],
    granularity: [...granularity],
    minMeshSize: [...minMeshSize],
    minFrameSize: [...minFrameSize],
  };
  for (let i = 0; i < initialFrameSize.length; i++) {
    const { a, b } = decodeFrameSize(initialFrameSize[i], granularity[i], rounding);
    mesh.a.push(a);
    mesh.b.push(b);
    mesh.b0.push(b);
    mesh.r.push(0);
  }
  return mesh;
}

function bigG(mesh: MeshState, i: number): number {
  return mesh.granularity[i] > 0 ? mesh.granularity[i] : 1;
}

/** Δ_i = G·a·10^b (§2.1). */
export function frameSizeOf(mesh: MeshState, i: number): number {
  return bigG(mesh, i) * mesh.a[i] * pow10(mesh.b[i]);
}

/** δ_i (§2.1): 10^e (continuous) or g·max(1, 10^e), with e = b − |b − b0|. */
export function meshSizeOf(mesh: MeshState, i: number): number {
  const e = mesh.b[i] - Math.abs(mesh.b[i] - mesh.b0[i]);
  const g = mesh.granularity[i];
  return g > 0 ? g * Math.max(1, pow10(e)) : pow10(e);
}

/** ρ_i (§2.1), the ratio used to scale directions (integer for continuous variables). */
export function rhoOf(mesh: MeshState, i: number): number {
  const d = Math.abs(mesh.b[i] - mesh.b0[i]);
  if (mesh.granularity[i] > 0) return mesh.a[i] * Math.min(pow10(mesh.b[i]), pow10(d));
  return mesh.a[i] * pow10(d);
}

export function frameSizes(mesh: MeshState): number[] {
  return mesh.a.map((_, i) => frameSizeOf(mesh, i));
}

export function meshSizes(mesh: MeshState): number[] {
  return mesh.a.map((_, i) => meshSizeOf(mesh, i));
}

/**
 * `GMesh::enlargeDeltaFrameSize(direction)` (§2.3), after a FULL success. `direction` is the
 * displacement of the new incumbent from its frame centre (free coordinates).
 */
export function enlarge(
  mesh: MeshState,
  direction: readonly number[],
  anisotropic: boolean,
  anisotropyFactor: number,
  cap: readonly number[] | null = null,
): void {
  const n = mesh.a.length;
  const frames = cap === null ? null : frameSizes(mesh);
  let minRho = Infinity;
  for (let i = 0; i < n; i++) if (mesh.granularity[i] === 0) minRho = Math.min(minRho, rhoOf(mesh, i));
  const decisions: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const rho = rhoOf(mesh, i);
    const delta = meshSizeOf(mesh, i);
    // NOMAD::Double '>' is an ε-comparison (Appendix A): 0.01/0.01/10 must not exceed 0.1.
    const moved = greaterEps(Math.abs(direction[i] ?? 0) / delta / rho, anisotropyFactor);
    const aspect = mesh.granularity[i] === 0 && mesh.b[i] < mesh.b0[i] && greaterEps(rho, minRho * minRho);
    // `cap` (engine.ts `frameCaps`, boundedFrame): no enlargement once the frame has reached it.
    decisions.push((!anisotropic || moved || aspect) && (frames === null || !(frames[i] >= cap![i])));
  }
  for (let i = 0; i < n; i++) {
    if (!decisions[i]) continue;
    if (mesh.a[i] === 1) mesh.a[i] = 2;
    else if (mesh.a[i] === 2) mesh.a[i] = 5;
    else {
      mesh.a[i] = 1;
      mesh.b[i] += 1;
    }
    mesh.r[i] += 1;
  }
}

/** `GMesh::refineDeltaFrameSize()` (§2.4), after a failure: every variable one step down. */
export function refine(mesh: MeshState): void {
  for (let i = 0; i < mesh.a.length; i++) {
    // The step applies only while the current mesh size is ≥ MIN_MESH_SIZE_i.
    if (lessEps(meshSizeOf(mesh, i), mesh.minMeshSize[i])) continue;
    const oldA = mesh.a[i];
    const oldB = mesh.b[i];
    if (oldA === 1) {
      mesh.a[i] = 5;
      mesh.b[i] = oldB - 1;
    } else if (oldA === 2) mesh.a[i] = 1;
    else mesh.a[i] = 2;
    const granular = mesh.granularity[i] > 0;
    // A granular frame never goes below g (§2.4).
    if (granular && mesh.a[i] === 5 && mesh.b[i] < 0) {
      mesh.a[i] = 1;
      mesh.b[i] = 0;
    }
    if (!granular || mesh.a[i] !== oldA || mesh.b[i] !== oldB) mesh.r[i] -= 1;
  }
}

/** GMESH_LIMIT_MIN_MESH_INDEX (defines.hpp). */
const LIMIT_MIN_MESH_INDEX = -50;

export type MeshStop = 'MIN_MESH_SIZE_REACHED' | 'MIN_FRAME_SIZE_REACHED' | null;

/** `GMesh::checkMeshForStopping` (§2.6). MIN_MESH_INDEX_REACHED is reported as MIN_MESH_SIZE_REACHED. */
export function checkMeshForStopping(mesh: MeshState): MeshStop {
  const n = mesh.a.length;
  if (n === 0) return null;
  const allGranular = mesh.granularity.every((g) => g > 0);
  if (allGranular) return null;
  let meshStop = true;
  let frameStop = true;
  let indexStop = true;
  for (let i = 0; i < n; i++) {
    const g = mesh.granularity[i];
    if (g === 0) {
      if (!lessEps(meshSizeOf(mesh, i), mesh.minMeshSize[i])) meshStop = false;
      if (mesh.r[i] >= LIMIT_MIN_MESH_INDEX) indexStop = false;
    } else if (meshSizeOf(mesh, i) > g + EPS) indexStop = false;
    if (!lessEps(frameSizeOf(mesh, i), mesh.minFrameSize[i])) frameStop = false;
  }
  if (meshStop) return 'MIN_MESH_SIZE_REACHED';
  if (frameStop) return 'MIN_FRAME_SIZE_REACHED';
  if (indexStop) return 'MIN_MESH_SIZE_REACHED';
  return null;
}

/**
 * `GMesh::scaleAndProjectOnMesh` (§2.5): u = v/‖v‖∞, step_i = round(ρ_i·u_i)·δ_i, so that the
 * largest component lands exactly on ±Δ_i.
 */
export function scaleAndProjectOnMesh(mesh: MeshState, v: readonly number[]): number[] {
  let inf = 0;
  for (const c of v) inf = Math.max(inf, Math.abs(c));
  if (inf === 0) return v.map(() => 0);
  return v.map((c, i) => roundHalfAway((rhoOf(mesh, i) * c) / inf) * meshSizeOf(mesh, i));
}

/**
 * `GMesh::projectOnMesh(point, centre)` (§2.5) for one coordinate: if the centre is on the mesh,
 * move the value to the closest mesh multiple; otherwise move the displacement. "Closest" uses
 * NOMAD's ε-comparisons, so near-ties (within 1e-13) are ties, broken upward for values ≥ 0
 * and downward for negative values. (NOMAD's extra retries against floating-point noise are
 * not needed: the 14-decimal rounding that follows removes that noise.)
 */
export function projectCoordinate(value: number, centre: number, delta: number): number {
  if (!(delta > 0)) return value;
  const centreOnMesh = isMultipleOf(centre, delta);
  const verif = centreOnMesh ? value : value - centre;
  if (isMultipleOf(verif, delta)) return value;
  const vHigh = nextMult(verif, delta);
  const vLow = -nextMult(-verif, delta);
  const diffHigh = vHigh - verif;
  const diffLow = verif - vLow;
  const chosen = lessEps(diffLow, diffHigh) ? vLow : lessEps(diffHigh, diffLow) ? vHigh : value < 0 ? vLow : vHigh;
  return centreOnMesh ? chosen : chosen + centre;
}
