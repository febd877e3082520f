/**
 * A small Gaussian-process regression for the surrogate search (search/surrogate.ts,
 * docs/algorithm.md, "Surrogate search"): Matérn 5/2 kernel with one length scale per variable
 * (inputs scaled to [0, 1]), unit signal variance (outputs are standardised by the caller), a
 * nugget, zero mean. Several outputs (objective, constraints) share the kernel, so one Cholesky
 * factorisation serves them all. Hyper-parameters are chosen by the marginal likelihood over a
 * fixed grid followed by a per-variable ×½/×2 sweep: deterministic, no random restarts, bounded
 * cost (the caller bounds the number of training points).
 */

import { backSubstitute, choleskyFactor, forwardSubstitute } from './linalg';

export interface GpModel {
  /** Training inputs in [0, 1]^d (row-major, n × d). */
  x: Float64Array;
  n: number;
  d: number;
  lengthScales: number[];
  noise: number;
  /** Lower Cholesky factor of K + noise·I (row-major n × n). */
  l: Float64Array;
  /** (K + noise·I)⁻¹ y for each output. */
  alpha: Float64Array[];
}

const SQRT5 = Math.sqrt(5);

function matern52(r: number): number {
  const s = SQRT5 * r;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

function kernel(x: Float64Array, i: number, z: ArrayLike<number>, zOffset: number, d: number, inv: number[]): number {
  let r2 = 0;
  for (let k = 0; k < d; k++) {
    const t = (x[i * d + k] - z[zOffset + k]) * inv[k];
    r2 += t * t;
  }
  return matern52(Math.sqrt(r2));
}

/**
 * Lower Cholesky factor of K + noise·I; null when not positive definite. The pivot floor is
 * absolute: the kernel matrix has a unit diagonal (plus the nugget).
 */
function cholesky(a: Float64Array, n: number): Float64Array | null {
  return choleskyFactor(a, n, () => 1e-12);
}

interface Factorised {
  l: Float64Array;
  alpha: Float64Array[];
  /** Sum over outputs of the log marginal likelihood (constants dropped). */
  logLik: number;
}

function factorise(
  x: Float64Array,
  n: number,
  d: number,
  ys: Float64Array[],
  ls: number[],
  noise: number,
): Factorised | null {
  const inv = ls.map((v) => 1 / v);
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    k[i * n + i] = 1 + noise;
    for (let j = 0; j < i; j++) {
      const v = kernel(x, i, x, j * d, d, inv);
      k[i * n + j] = v;
      k[j * n + i] = v;
    }
  }
  const l = cholesky(k, n);
  if (l === null) return null;
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += Math.log(l[i * n + i]);
  let logLik = 0;
  const alpha = ys.map((y) => {
    const w = forwardSubstitute(l, n, y);
    let quad = 0;
    for (let i = 0; i < n; i++) quad += w[i] * w[i];
    logLik += -0.5 * quad - logDet;
    return backSubstitute(l, n, w);
  });
  return { l, alpha, logLik };
}

const LENGTH_GRID = [0.08, 0.15, 0.3, 0.6, 1.2];
const NOISE_GRID = [1e-6, 1e-3, 3e-2];
const MIN_LENGTH = 0.01;
const MAX_LENGTH = 10;
/** Per-variable refinement sweeps of the length scales, when the work bound allows them. */
const MAX_SWEEPS = 2;
/**
 * Most multiply-adds of one hyper-parameter fit (kernel matrices n²·d/2, Cholesky n³/6 per
 * candidate setting): about 30 ms of CPU on the development machine. The grid alone is always
 * fitted; the per-variable sweeps (2·d settings each) only while they fit the bound, so up to
 * d ≈ 25 at the surrogate search's 76 points the fit is unchanged, and a 49-variable study no
 * longer spends 0.5 s of the engine thread every study shares per search (docs/algorithm.md,
 * "Cost of the models").
 */
export const GP_FIT_WORK_LIMIT = 2e7;

/** How many refinement sweeps fit GP_FIT_WORK_LIMIT for n points in d dimensions. */
export function affordableSweeps(n: number, d: number): number {
  const perSetting = (n * n * d) / 2 + (n * n * n) / 6;
  const gridSettings = LENGTH_GRID.length * NOISE_GRID.length + 1;
  for (let sweeps = MAX_SWEEPS; sweeps > 0; sweeps--) {
    if ((gridSettings + sweeps * 2 * d) * perSetting <= GP_FIT_WORK_LIMIT) return sweeps;
  }
  return 0;
}

/**
 * Fit on inputs `xs` (each in [0, 1]^d) and outputs `ys` (one array per output, standardised).
 * `fitOn` = how many of the first outputs choose the hyper-parameters (the objective; the
 * constraints reuse them). null when no factorisation succeeds.
 */
export function fitGp(
  xs: readonly (readonly number[])[],
  ys: readonly (readonly number[])[],
  fitOn = 1,
  fixed: { lengthScales: number[]; noise: number } | null = null,
): GpModel | null {
  const n = xs.length;
  if (n === 0) return null;
  const d = xs[0].length;
  const x = new Float64Array(n * d);
  xs.forEach((row, i) => row.forEach((v, k) => (x[i * d + k] = v)));
  const yArrays = ys.map((y) => Float64Array.from(y));
  if (fixed !== null) {
    const f = factorise(x, n, d, yArrays, fixed.lengthScales, fixed.noise);
    return f === null
      ? null
      : { x, n, d, lengthScales: [...fixed.lengthScales], noise: fixed.noise, l: f.l, alpha: f.alpha };
  }
  const fitYs = yArrays.slice(0, Math.max(1, fitOn));
  let best: { ls: number[]; noise: number; logLik: number } | null = null;
  const consider = (ls: number[], noise: number): void => {
    const f = factorise(x, n, d, fitYs, ls, noise);
    if (f !== null && (best === null || f.logLik > best.logLik + 1e-9)) best = { ls: [...ls], noise, logLik: f.logLik };
  };
  for (const len of LENGTH_GRID) for (const noise of NOISE_GRID) consider(new Array<number>(d).fill(len), noise);
  if (best === null) return null;
  // Per-variable refinement: irrelevant variables get long length scales.
  const sweeps = affordableSweeps(n, d);
  for (let sweep = 0; sweep < sweeps && d > 1; sweep++) {
    for (let k = 0; k < d; k++) {
      for (const factor of [0.5, 2]) {
        const current: { ls: number[]; noise: number } = best;
        const ls = [...current.ls];
        ls[k] = Math.min(MAX_LENGTH, Math.max(MIN_LENGTH, ls[k] * factor));
        consider(ls, current.noise);
      }
    }
  }
  const chosen: { ls: number[]; noise: number } = best;
  const f = factorise(x, n, d, yArrays, chosen.ls, chosen.noise);
  if (f === null) return null;
  return { x, n, d, lengthScales: chosen.ls, noise: chosen.noise, l: f.l, alpha: f.alpha };
}

/** Posterior means (one per output) and the shared posterior variance at z ∈ [0, 1]^d. */
export function predictGp(model: GpModel, z: readonly number[]): { mean: number[]; variance: number } {
  const { n, d, x, l } = model;
  const inv = model.lengthScales.map((v) => 1 / v);
  const kz = new Float64Array(n);
  for (let i = 0; i < n; i++) kz[i] = kernel(x, i, z, 0, d, inv);
  const mean = model.alpha.map((a) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += kz[i] * a[i];
    return s;
  });
  const v = forwardSubstitute(l, n, kz);
  let q = 0;
  for (let i = 0; i < n; i++) q += v[i] * v[i];
  return { mean, variance: Math.max(1e-12, 1 - q) };
}

/**
 * One joint draw from the posterior at the points `zs` (each in [0, 1]^d): for each output its
 * posterior mean plus L_C·u, where C = K** − K*ᵀ(K + noise·I)⁻¹K* is the posterior covariance the
 * outputs share (one kernel) and u a standard normal vector per output (`normal`). A Thompson
 * sample for the idle runners' surrogate points (engine.ts).
 */
export function samplePosterior(model: GpModel, zs: readonly (readonly number[])[], normal: () => number): number[][] {
  const { n, d, x, l } = model;
  const m = zs.length;
  const inv = model.lengthScales.map((v) => 1 / v);
  const vs: Float64Array[] = [];
  const means: number[][] = model.alpha.map(() => new Array<number>(m).fill(0));
  zs.forEach((z, j) => {
    const kz = new Float64Array(n);
    for (let i = 0; i < n; i++) kz[i] = kernel(x, i, z, 0, d, inv);
    model.alpha.forEach((a, o) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += kz[i] * a[i];
      means[o][j] = s;
    });
    vs.push(forwardSubstitute(l, n, kz));
  });
  const zFlat = new Float64Array(m * d);
  zs.forEach((z, j) => z.forEach((v, k) => (zFlat[j * d + k] = v)));
  const c = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b <= a; b++) {
      let prior = a === b ? 1 : kernel(zFlat, a, zFlat, b * d, d, inv);
      const va = vs[a];
      const vb = vs[b];
      for (let i = 0; i < n; i++) prior -= va[i] * vb[i];
      c[a * m + b] = prior;
    }
  }
  // Cholesky with pivots floored at a small variance: candidates close to each other (and the
  // smooth kernel) make C nearly singular, and a sample needs no more than a factor of C + E
  // with a small diagonal E.
  const lc = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let dj = c[j * m + j];
    for (let k = 0; k < j; k++) dj -= lc[j * m + k] * lc[j * m + k];
    const ljj = Math.sqrt(Math.max(dj, 1e-8));
    lc[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = c[i * m + j];
      for (let k = 0; k < j; k++) s -= lc[i * m + k] * lc[j * m + k];
      lc[i * m + j] = s / ljj;
    }
  }
  return means.map((mean) => {
    const u = Array.from({ length: m }, normal);
    return mean.map((mu, a) => {
      let s = mu;
      for (let b = 0; b <= a; b++) s += lc[a * m + b] * u[b];
      return s;
    });
  });
}

/** Standard normal density and distribution (Abramowitz–Stegun 7.1.26 for erf, |error| < 1.5e-7). */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Expected improvement below `best` of a normal prediction (mean, sd). */
export function expectedImprovement(mean: number, sd: number, best: number): number {
  if (!(sd > 0)) return Math.max(0, best - mean);
  const z = (best - mean) / sd;
  return (best - mean) * normalCdf(z) + sd * normalPdf(z);
}

/** Inverse standard normal distribution: one implementation, in the neutral math folder. */
export { normalQuantile } from '../../math/normal-quantile';
