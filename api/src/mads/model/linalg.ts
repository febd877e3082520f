/** A small dense solver for the quadratic models: symmetric positive-definite systems by Cholesky. */

/** Solve A x = b for each right-hand side (A symmetric, n×n, row-major). null if not SPD. */
export function choleskySolve(a: Float64Array, n: number, rhs: Float64Array[]): Float64Array[] | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 1e-14 * Math.max(1, Math.abs(a[j * n + j])))) return null;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return rhs.map((b) => {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
      y[i] = s / l[i * n + i];
    }
    const x = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
      x[i] = s / l[i * n + i];
    }
    return x;
  });
}

/** Eigenvalues of a symmetric matrix (cyclic Jacobi). */
export function symmetricEigenvalues(matrix: readonly number[][]): number[] {
  const n = matrix.length;
  const a = matrix.map((r) => [...r]);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]);
}

/** Numerical rank: number of singular values of the rows' matrix greater than eps. */
export function rankOf(rows: readonly number[][], eps: number): number {
  if (rows.length === 0) return 0;
  const gram = rows.map((a) => rows.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)));
  return symmetricEigenvalues(gram).filter((e) => Math.sqrt(Math.max(e, 0)) > eps).length;
}
