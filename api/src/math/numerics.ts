/**
 * NOMAD's numeric conventions (NOMAD 4.5.1, src/Math/Double.cpp, src/Math/ArrayOfDouble.cpp).
 * Most comparisons in the algorithm are *absolute* ε-comparisons with ε = 1e-13.
 */

/** DEFAULT_EPSILON (`src/Util/defines.hpp`). */
export const EPS = 1e-13;

/** MODEL_MAX_OUTPUT (defines.hpp): outputs above this are excluded from models. */
export const MODEL_MAX_OUTPUT = 1e20;

/** `Double::operator<`: a < b − ε. */
export function lessEps(a: number, b: number): boolean {
  return a < b - EPS;
}

/** `Double::operator>`: a > b + ε. */
export function greaterEps(a: number, b: number): boolean {
  return a > b + EPS;
}

/** `Double::operator==`: |a − b| < ε (infinities equal themselves). */
export function equalEps(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) < EPS;
}

/** Round half away from zero (`Double::round`). */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(0.5 - v) : Math.floor(0.5 + v);
}

/** `Double::isMultipleOf(g)` (Appendix A). */
export function isMultipleOf(v: number, g: number): boolean {
  if (Math.abs(v) <= EPS) return true;
  if (g <= 0) return true;
  const m = roundHalfAway(v / g);
  return Math.abs(v - m * g) < Math.abs(m) * EPS;
}

/** `Double::nextMult(g)`: v if already a multiple, else round up (positives) / toward zero. */
export function nextMult(v: number, g: number): number {
  if (g <= 0 || isMultipleOf(v, g)) return v;
  let k = Math.trunc(v / g);
  if (v > 0) k += 1;
  return k * g;
}

const PRECISION_FACTOR = 1e14;
const MAX_EXACT = 2 ** 52;

/**
 * POINT_FORMAT rounding (§1.1): 14 decimals for R variables, integers for I/B.
 * Values too large to carry 14 decimals in a double are already as precise as they can be.
 */
export function roundToPrecision(v: number, integer: boolean): number {
  if (!Number.isFinite(v)) return v;
  if (integer) return roundHalfAway(v);
  const scaled = v * PRECISION_FACTOR;
  if (Math.abs(scaled) >= MAX_EXACT) return v;
  const r = roundHalfAway(scaled) / PRECISION_FACTOR;
  return r === 0 ? 0 : r;
}

/**
 * Guarded integer decade of q > 0: NOMAD relies on glibc `log10` being exact on powers of ten
 * (Appendix A); snapping to the nearest integer within 1e-12 makes that explicit.
 */
export function log10Snapped(q: number): number {
  const l = Math.log10(q);
  const near = Math.round(l);
  return Math.abs(l - near) < 1e-12 ? near : l;
}

/** 10^e for integer e, computed so that negative decades are exact decimals (1e-2, not 0.010000000000000002). */
export function pow10(e: number): number {
  return e >= 0 ? 10 ** e : 1 / 10 ** -e;
}

/** JSON has no NaN/Infinity: encode non-finite numbers as strings. */
export type EncodedNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export function encodeNumber(v: number): EncodedNumber {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

export function decodeNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new TypeError(`not an encoded number: ${String(v)}`);
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm2(a: readonly number[]): number {
  return Math.sqrt(dot(a, a));
}

export function normInf(a: readonly number[]): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}
