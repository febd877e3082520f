/**
 * Poll directions (NOMAD 4.5.1, src/Math/Direction.cpp, `Direction::computeDirOnUnitSphere`,
 * `Direction::householder`): one random unit vector per poll method call, Householder basis
 * H = I − 2vvᵀ, emitted as h0, −h0, h1, −h1, …
 */
import type { NomadRng } from '../math/rng';

/** `Direction::householder` on a unit vector v: rows h_i = e_i − 2 v_i v. */
export function householder(v: readonly number[]): number[][] {
  const n = v.length;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < n; j++) row.push((i === j ? 1 : 0) - 2 * v[i] * v[j]);
    rows.push(row);
  }
  return rows;
}

/** ORTHO 2N directions in NOMAD's order h0, −h0, h1, −h1, … (one draw of n normals). */
export function ortho2nDirections(rng: NomadRng, n: number): number[][] {
  const h = householder(rng.unitSphere(n));
  const dirs: number[][] = [];
  for (const row of h) {
    dirs.push(row);
    dirs.push(row.map((c) => -c));
  }
  return dirs;
}

/** DOUBLE (secondary poll, §3.4): one random unit direction and its negative. */
export function doubleDirections(rng: NomadRng, n: number): number[][] {
  const v = rng.unitSphere(n);
  return [v, v.map((c) => -c)];
}

/**
 * Rank test used by the ORTHO N+1 reduction (§3.4) and the NM simplex (§4.2): does `d`
 * increase the rank of `basis` (given as an orthonormalised list, updated in place)?
 */
export function addIfIndependent(basis: number[][], d: readonly number[], tol: number): boolean {
  const norm0 = Math.sqrt(d.reduce((s, c) => s + c * c, 0));
  if (norm0 === 0) return false;
  const r = d.map((c) => c / norm0);
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      let p = 0;
      for (let i = 0; i < r.length; i++) p += r[i] * q[i];
      for (let i = 0; i < r.length; i++) r[i] -= p * q[i];
    }
  }
  const norm = Math.sqrt(r.reduce((s, c) => s + c * c, 0));
  if (norm <= tol) return false;
  basis.push(r.map((c) => c / norm));
  return true;
}
