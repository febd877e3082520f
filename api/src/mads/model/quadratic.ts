/**
 * Full quadratic least-squares models (§4.3 step 2, sgtelib `Surrogate_PRS`, `TYPE PRS DEGREE 2
 * RIDGE 0`): one polynomial per blackbox output, inputs and outputs standardised with the mean and
 * the sample standard deviation (n − 1, sgtelib `TrainingSet::compute_mean_std`), one model
 * variable per varying input (read as sgtelib reads it, see `standardise`), normal equations solved
 * by Cholesky; a ridge of 1e-3 when there are fewer distinct points than monomials
 * (`Surrogate_PRS::build_private`) or the system is singular.
 *
 * `separable` drops the cross terms (1, z_i, z_i²: 2d + 1 monomials instead of (d + 1)(d + 2)/2).
 * NOMAD has no such model; the engine uses it only where the full one would cost more than a
 * request may (docs/algorithm.md, "Cost of the models").
 */
import { choleskySolve, luSolve } from './linalg';

export interface QuadraticModel {
  /** Predicted outputs (one per modelled output) at a free-coordinate point. */
  predict(x: readonly number[]): number[];
}

const RIDGE = 1e-3;

export type QuadraticKind = 'full' | 'separable';

function monomials(z: readonly number[], out: Float64Array, kind: QuadraticKind): void {
  const d = z.length;
  let k = 0;
  out[k++] = 1;
  for (let i = 0; i < d; i++) out[k++] = z[i];
  if (kind === 'separable') for (let i = 0; i < d; i++) out[k++] = z[i] * z[i];
  else for (let i = 0; i < d; i++) for (let j = i; j < d; j++) out[k++] = z[i] * z[j];
}

export function monomialCount(d: number, kind: QuadraticKind = 'full'): number {
  return kind === 'separable' ? 2 * d + 1 : ((d + 1) * (d + 2)) / 2;
}

/**
 * Multiply-adds of fitting a model of `m` monomials on `p` points with `outputs` outputs (normal
 * equations p·m²/2, Cholesky m³/6, right-hand sides p·m·outputs) and of `predictions` predictions
 * of it: what bounds an engine call's time (docs/algorithm.md, "Cost of the models").
 */
export function quadraticWork(p: number, m: number, outputs: number, predictions: number): number {
  return (p * m * m) / 2 + (m * m * m) / 6 + p * m * outputs + predictions * m * (outputs + 1);
}

/** Number of distinct points (sgtelib `TrainingSet::compute_Ds`, _pvar). */
function distinctCount(xs: readonly number[][]): number {
  return new Set(xs.map((x) => x.join(','))).size;
}

/** Mean and sample standard deviation (n − 1) of column `j` (sgtelib `TrainingSet::compute_mean_std`). */
function columnStats(rows: readonly number[][], j: number): { mean: number; std: number } {
  const p = rows.length;
  let s = 0;
  for (const row of rows) s += row[j];
  const mean = s / p;
  let v = 0;
  for (const row of rows) v += (row[j] - mean) ** 2;
  return { mean, std: Math.sqrt(v / (p - 1)) };
}

/** Each output column's mean and standard deviation; a constant output gets 1, so it standardises to 0. */
function outputScaling(ys: readonly number[][]): { yMean: number[]; yStd: number[] } {
  const stats = ys[0].map((_, o) => columnStats(ys, o));
  return { yMean: stats.map((c) => c.mean), yStd: stats.map((c) => c.std || 1) };
}

/** Fit on points X (free coordinates) and outputs Y (rows = points, columns = outputs). */
export function fitQuadratic(
  xs: readonly number[][],
  ys: readonly number[][],
  kind: QuadraticKind = 'full',
): QuadraticModel | null {
  const p = xs.length;
  if (p === 0) return null;
  const dimAll = xs[0].length;
  // sgtelib `TrainingSet::compute_scaling` (SCALING_MEANSTD): an input with more than one
  // distinct value is scaled by (x − mean)/std, a constant one by x − mean.
  const mean: number[] = [];
  const scale: number[] = [];
  let d = 0;
  for (let i = 0; i < dimAll; i++) {
    const column = columnStats(xs, i);
    const varying = xs.some((x) => x[i] !== xs[0][i]);
    mean.push(column.mean);
    scale.push(varying ? 1 / column.std : 1);
    if (varying) d++;
  }
  const m = monomialCount(d, kind);
  const nOut = ys[0].length;
  const { yMean, yStd } = outputScaling(ys);
  // The model has one variable per varying input, but sgtelib's `Surrogate_PRS::compute_design_matrix`
  // reads the k-th of them from the k-th scaled input column, whether that input varies or not:
  // with a constant input before varying ones, the last varying inputs are left out of the model
  // and a constant column takes their place. Verified against the predictions of NOMAD 4.5.1's
  // quadratic model (docs/algorithm.md). Faithful, so that the model searches propose NOMAD's points.
  const standardise = (x: readonly number[]): number[] => {
    const z: number[] = [];
    for (let k = 0; k < d; k++) z.push((x[k] - mean[k]) * scale[k]);
    return z;
  };
  const hth = new Float64Array(m * m);
  const hty = Array.from({ length: nOut }, () => new Float64Array(m));
  const row = new Float64Array(m);
  for (let r = 0; r < p; r++) {
    monomials(standardise(xs[r]), row, kind);
    for (let a = 0; a < m; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < m; b++) hth[a * m + b] += ra * row[b];
      for (let o = 0; o < nOut; o++) hty[o][a] += ra * ((ys[r][o] - yMean[o]) / yStd[o]);
    }
  }
  for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) hth[a * m + b] = hth[b * m + a];
  let coef: Float64Array[] | null = null;
  if (distinctCount(xs) >= m) coef = choleskySolve(hth, m, hty);
  if (coef === null) {
    const ridged = Float64Array.from(hth);
    for (let a = 0; a < m; a++) ridged[a * m + a] += RIDGE;
    coef = choleskySolve(ridged, m, hty);
  }
  if (coef === null || coef.some((c) => c.some((v) => !Number.isFinite(v)))) return null;
  const solved = coef;
  return {
    predict(x: readonly number[]): number[] {
      const mono = new Float64Array(m);
      monomials(standardise(x), mono, kind);
      return solved.map((c, o) => {
        let s = 0;
        for (let a = 0; a < m; a++) s += c[a] * mono[a];
        return yMean[o] + yStd[o] * s;
      });
    },
  };
}

/**
 * Minimum-Frobenius-norm quadratic interpolation (Powell's NEWUOA; Conn, Scheinberg & Vicente,
 * "Introduction to Derivative-Free Optimization", 2009, §5.3) for fewer distinct points than
 * monomials: among the quadratics m(z) = c + gᵀz + ½ zᵀHz that interpolate the points, the one
 * with the smallest ‖H‖_F, on inputs and outputs standardised as in `fitQuadratic` (every varying
 * input, without sgtelib's column quirk). Why: the least-squares fit with a ridge on every
 * coefficient spreads the data over the n(n+1)/2 curvature terms as much as over the gradient, so
 * with few points its gradient is weak and its curvature spurious; the minimum-norm Hessian keeps
 * the linear information exact. H = Σ λ_i z_i z_iᵀ, so m(z) = c + gᵀz + ½ Σ λ_i (z_iᵀz)², with
 * (λ, c, g) from the KKT system [A E; Eᵀ 0], A_ij = ½ (z_iᵀz_j)², E_i = (1, z_iᵀ). With as many
 * distinct points as monomials or more, or fewer than n + 1 (the linear part is not determined),
 * or a singular system, it is `fitQuadratic`.
 */
export function fitQuadraticMinNorm(xs: readonly number[][], ys: readonly number[][]): QuadraticModel | null {
  const p = xs.length;
  if (p === 0) return null;
  const dimAll = xs[0].length;
  const cols: number[] = [];
  const mean: number[] = [];
  const scale: number[] = [];
  for (let i = 0; i < dimAll; i++) {
    if (!xs.some((x) => x[i] !== xs[0][i])) continue;
    const column = columnStats(xs, i);
    cols.push(i);
    mean.push(column.mean);
    scale.push(1 / column.std);
  }
  const d = cols.length;
  const distinct = distinctCount(xs);
  if (distinct >= monomialCount(d) || distinct < d + 1 || distinct !== p) return fitQuadratic(xs, ys);
  const nOut = ys[0].length;
  const { yMean, yStd } = outputScaling(ys);
  const standardise = (x: readonly number[]): number[] => cols.map((i, k) => (x[i] - mean[k]) * scale[k]);
  const zs = xs.map(standardise);
  const size = p + d + 1;
  const kkt = new Float64Array(size * size);
  const dot = (a: readonly number[], b: readonly number[]): number => {
    let s = 0;
    for (let k = 0; k < a.length; k++) s += a[k] * b[k];
    return s;
  };
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) kkt[i * size + j] = 0.5 * dot(zs[i], zs[j]) ** 2;
    kkt[i * size + p] = 1;
    kkt[p * size + i] = 1;
    for (let k = 0; k < d; k++) {
      kkt[i * size + p + 1 + k] = zs[i][k];
      kkt[(p + 1 + k) * size + i] = zs[i][k];
    }
  }
  const rhs = Array.from({ length: nOut }, (_, o) => {
    const b = new Float64Array(size);
    for (let i = 0; i < p; i++) b[i] = (ys[i][o] - yMean[o]) / yStd[o];
    return b;
  });
  const sol = luSolve(kkt, size, rhs);
  if (sol === null || sol.some((c) => c.some((v) => !Number.isFinite(v)))) return fitQuadratic(xs, ys);
  return {
    predict(x: readonly number[]): number[] {
      const z = standardise(x);
      const w = zs.map((zi) => 0.5 * dot(zi, z) ** 2);
      return sol.map((c, o) => {
        let s = c[p];
        for (let i = 0; i < p; i++) s += c[i] * w[i];
        for (let k = 0; k < d; k++) s += c[p + 1 + k] * z[k];
        return yMean[o] + yStd[o] * s;
      });
    },
  };
}
