/** Small dense linear algebra for the models (quadratic and GP): Cholesky, triangular solves, SVD. */

/**
 * Lower Cholesky factor L of A (symmetric, n×n, row-major), A = L·Lᵀ; null when a pivot falls to
 * `minPivot(diagonal)` or below (not positive definite at the caller's tolerance).
 */
export function choleskyFactor(
  a: Float64Array,
  n: number,
  minPivot: (diagonal: number) => number,
): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > minPivot(a[j * n + j]))) return null;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** y with L y = b (L lower triangular, row-major n×n). */
export function forwardSubstitute(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  return y;
}

/** x with Lᵀ x = y (L lower triangular, row-major n×n). */
export function backSubstitute(l: Float64Array, n: number, y: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/**
 * Solve A x = b for each right-hand side (A symmetric, n×n, row-major). null if not SPD: a pivot
 * at or below 1e-14 of its diagonal entry (relative, since the quadratic models' systems are not
 * scaled).
 */
export function choleskySolve(a: Float64Array, n: number, rhs: Float64Array[]): Float64Array[] | null {
  const l = choleskyFactor(a, n, (diagonal) => 1e-14 * Math.max(1, Math.abs(diagonal)));
  if (l === null) return null;
  return rhs.map((b) => backSubstitute(l, n, forwardSubstitute(l, n, b)));
}

/**
 * Singular values of a matrix given by its rows, by one-sided Jacobi rotations (Hestenes), which
 * computes small singular values to full precision: for exactly dependent rows they come out at
 * rounding level (~1e-17), not at the ~1e-9 that the square roots of the Gram matrix's eigenvalues
 * give. NOMAD takes the rank from an SVD (NOMAD 4.5.1,
 * src/Algos/NelderMead/NMInitializeSimplex.cpp).
 */
export function singularValues(rows: readonly number[][]): number[] {
  if (rows.length === 0) return [];
  // Work on the columns of Aᵀ (= the rows of A): orthogonalise them pairwise.
  const u = rows.map((r) => [...r]);
  const m = u.length;
  // A plain loop, not `reduce`: the same sums in the same order (so the same bits), without a
  // closure call per element — this dot product was most of the CPU of NM's rank tests.
  const dot = (a: number[], b: number[]): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const alpha = dot(u[p], u[p]);
        const beta = dot(u[q], u[q]);
        const gamma = dot(u[p], u[q]);
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = c * t;
        for (let k = 0; k < u[p].length; k++) {
          const a = u[p][k];
          const b = u[q][k];
          u[p][k] = c * a - sn * b;
          u[q][k] = sn * a + c * b;
        }
      }
    }
    if (!rotated) break;
  }
  return u.map((r) => Math.sqrt(dot(r, r)));
}

/** Numerical rank: number of singular values of the rows' matrix greater than eps. */
export function rankOf(rows: readonly number[][], eps: number): number {
  return singularValues(rows).filter((sv) => sv > eps).length;
}

/**
 * Solve A x = b for each right-hand side (A square, n×n, row-major, not necessarily symmetric or
 * definite) by Gaussian elimination with partial pivoting; null when a pivot falls to 1e-12 of
 * the largest entry of A (numerically singular).
 */
export function luSolve(a: Float64Array, n: number, rhs: Float64Array[]): Float64Array[] | null {
  const m = Float64Array.from(a);
  const bs = rhs.map((b) => Float64Array.from(b));
  let scale = 0;
  for (const v of m) scale = Math.max(scale, Math.abs(v));
  if (!(scale > 0)) return null;
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]) > Math.abs(m[piv * n + k])) piv = i;
    if (!(Math.abs(m[piv * n + k]) > 1e-12 * scale)) return null;
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[piv * n + j];
        m[piv * n + j] = t;
      }
      for (const b of bs) {
        const t = b[k];
        b[k] = b[piv];
        b[piv] = t;
      }
    }
    const d = m[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / d;
      if (f === 0) continue;
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
      for (const b of bs) b[i] -= f * b[k];
    }
  }
  return bs.map((b) => {
    const x = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i];
      for (let j = i + 1; j < n; j++) s -= m[i * n + j] * x[j];
      x[i] = s / m[i * n + i];
    }
    return x;
  });
}

/**
 * Orthonormal basis of a set of rows that grows one row at a time (modified Gram–Schmidt, applied
 * twice so that the residual of a dependent row stays at rounding level). A row's distance to the
 * span costs rows·n multiply-adds, where an SVD of all the rows costs sweeps·rows²·n.
 */
export class RowSpan {
  private readonly basis: Float64Array[] = [];

  /** The component of `row` orthogonal to the span (its norm is the row's distance to the span). */
  residual(row: readonly number[]): Float64Array {
    const v = Float64Array.from(row);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of this.basis) {
        let d = 0;
        for (let i = 0; i < v.length; i++) d += q[i] * v[i];
        for (let i = 0; i < v.length; i++) v[i] -= d * q[i];
      }
    }
    return v;
  }

  /** Add a residual returned by `residual` (non-zero) to the basis. */
  add(residual: Float64Array): void {
    const norm = euclideanNorm(residual);
    this.basis.push(residual.map((v) => v / norm));
  }
}

export function euclideanNorm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}
