/**
 * Test functions of the unseen problem set (unseen-problems.ts): classes the bench's own set
 * lacks — badly scaled valleys, multimodal low-dimensional functions, a plateau function, integer
 * and mixed versions, two more constrained problems and a LoRA-shaped ordinal landscape.
 * `unseen_functions.py` is their Python twin (same names, outputs and order of operations; the
 * bench's cross-check compares both), kept out of `functions.py` so that the NOMAD traces cached
 * for the bench's own set keep their keys (docs/benchmarks.md, "Unseen problem set").
 *
 * Outputs: the objective first, then constraints c(x) ≤ 0.
 */
import type { BenchFunction } from './functions';

/** Wood (Moré, Garbow & Hillstrom 1981, #14): f* = 0 at 1; a narrow, badly scaled valley. */
function wood(x: readonly number[]): number {
  const [a, b, c, d] = x;
  return (
    100 * (b - a * a) ** 2 +
    (1 - a) ** 2 +
    90 * (d - c * c) ** 2 +
    (1 - c) ** 2 +
    10.1 * ((b - 1) ** 2 + (d - 1) ** 2) +
    19.8 * (b - 1) * (d - 1)
  );
}

/**
 * Helical valley (MGH #7): f* = 0 at (1, 0, 0). θ is NOMAD-neutral: atan(b/a)/2π, + 1/2 when
 * a < 0, and ±1/4 on a = 0 (the limit), so both languages agree everywhere.
 */
function helicalValley(x: readonly number[]): number {
  const [a, b, c] = x;
  let theta: number;
  if (a > 0) theta = Math.atan(b / a) / (2 * Math.PI);
  else if (a < 0) theta = Math.atan(b / a) / (2 * Math.PI) + 0.5;
  else theta = b >= 0 ? 0.25 : -0.25;
  return 100 * ((c - 10 * theta) ** 2 + (Math.sqrt(a * a + b * b) - 1) ** 2) + c * c;
}

/** Brown badly scaled (MGH #4): f* = 0 at (1e6, 2e-6). */
function brownBadlyScaled(x: readonly number[]): number {
  const [a, b] = x;
  return (a - 1e6) ** 2 + (b - 2e-6) ** 2 + (a * b - 2) ** 2;
}

/** Branin–Hoo: f* ≈ 0.397887 at (−π, 12.275), (π, 2.275), (9.42478, 2.475). */
function branin(x: readonly number[]): number {
  const [a, b] = x;
  const bb = 5.1 / (4 * Math.PI * Math.PI);
  const cc = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (b - bb * a * a + cc * a - 6) ** 2 + 10 * (1 - t) * Math.cos(a) + 10;
}

/** Six-hump camel: f* ≈ −1.031628 at ±(0.0898, −0.7126); six local minima. */
function sixHumpCamel(x: readonly number[]): number {
  const [a, b] = x;
  return (4 - 2.1 * a * a + (a * a * a * a) / 3) * a * a + a * b + (-4 + 4 * b * b) * b * b;
}

const HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2];
const HARTMANN3_A = [
  [3, 10, 30],
  [0.1, 10, 35],
  [3, 10, 30],
  [0.1, 10, 35],
];
const HARTMANN3_P = [
  [0.3689, 0.117, 0.2673],
  [0.4699, 0.4387, 0.747],
  [0.1091, 0.8732, 0.5547],
  [0.0381, 0.5743, 0.8828],
];
const HARTMANN6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HARTMANN6_P = [
  [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
  [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
  [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

/** Hartmann 3 / 6 on [0, 1]ⁿ: f* ≈ −3.86278 / −3.32237; four local minima. */
function hartmann(x: readonly number[], a: readonly number[][], p: readonly number[][]): number {
  let f = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < x.length; j++) inner += a[i][j] * (x[j] - p[i][j]) ** 2;
    f -= HARTMANN_ALPHA[i] * Math.exp(-inner);
  }
  return f;
}

/** Styblinski–Tang: f* ≈ −39.166·n at −2.9035·1; 2ⁿ local minima (the others near 2.7468). */
function styblinskiTang(x: readonly number[]): number {
  let f = 0;
  for (const xi of x) f += xi ** 4 - 16 * xi * xi + 5 * xi;
  return 0.5 * f;
}

/** Ackley (a = 20, b = 0.2, c = 2π): f* = 0 at 0, a regular lattice of local minima. */
function ackley(x: readonly number[]): number {
  let squares = 0;
  let cosines = 0;
  for (const xi of x) {
    squares += xi * xi;
    cosines += Math.cos(2 * Math.PI * xi);
  }
  const n = x.length;
  return -20 * Math.exp(-0.2 * Math.sqrt(squares / n)) - Math.exp(cosines / n) + 20 + Math.E;
}

/** ⌊Σ w_i (x_i − s_i)²⌋: plateaus of width growing away from the optimum; f* = 0 on an ellipsoid. */
function flooredQuadratic(x: readonly number[], weights: readonly number[], shift: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < x.length; i++) f += weights[i] * (x[i] - shift[i]) ** 2;
  return Math.floor(f);
}

/** G08 (CEC 2006 g08): f* ≈ −0.0958250 at (1.22797, 4.24537); a multimodal objective. */
function g08(x: readonly number[]): number[] {
  const [a, b] = x;
  const s = Math.sin(2 * Math.PI * a);
  return [-(s * s * s * Math.sin(2 * Math.PI * b)) / (a * a * a * (a + b)), a * a - b + 1, 1 - a + (b - 4) ** 2];
}

/**
 * Tension/compression spring design (Arora 1989; Coello 2000): wire diameter d, coil diameter D,
 * active coils N; f* ≈ 0.0126652 at (0.05169, 0.35675, 11.28713); four constraints of very
 * different scales.
 */
function spring(x: readonly number[]): number[] {
  const [d, dd, n] = x;
  const d2 = d * d;
  const d4 = d2 * d2;
  return [
    (n + 2) * dd * d2,
    1 - (dd * dd * dd * n) / (71785 * d4),
    (4 * dd * dd - d * dd) / (12566 * (dd * d2 * d - d4)) + 1 / (5108 * d2) - 1,
    1 - (140.45 * d) / (dd * dd * n),
    (d + dd) / 1.5 - 1,
  ];
}

/** round-half-up on both sides (Python's round() rounds half to even). */
function nearest(v: number): number {
  return Math.floor(v + 0.5);
}

/**
 * A LoRA fine-tuning landscape on four ordinal indices (synthetic, not tabulated): rank index r
 * (rank 4·2^r), alpha multiplier index a (alpha/rank = 2^(a−2)), learning-rate index l
 * (log10 lr = −5 + l/4, 1e-5 … 1e-2) and dropout index k (p = 0, 0.05, 0.1, 0.2, 0.3). The update scale is
 * lr·alpha/rank, so lr and alpha interact along a diagonal valley whose optimum moves with the
 * rank; a too-large update diverges (a plateau of loss 4); higher rank adds capacity with
 * diminishing returns and over-fits without dropout; a small deterministic ripple makes the
 * lattice rugged. Different from hpo_* (tabulated, 2–3 axes) and the engine spec's 6×4×5 grid.
 */
function loraGrid(x: readonly number[]): number {
  const r = x[0];
  const a = x[1];
  const l = x[2];
  const k = nearest(Math.min(Math.max(x[3], 0), 4));
  const p = [0, 0.05, 0.1, 0.2, 0.3][k];
  const logScale = -5 + l / 4 + (a - 2) * Math.log10(2);
  if (logScale > -2.6) return 4;
  const optimum = -3.5 - 0.12 * r;
  const valley = 0.6 * (logScale - optimum) ** 2;
  const capacity = 0.45 * Math.exp(-0.8 * r);
  const overfit = 0.012 * r * ((p - 0.04 * r) / 0.1) ** 2;
  const ripple = 0.01 * Math.sin(1.7 * l + 2.3 * a + 0.9 * r + 3.1 * k);
  return 1.1 + valley + capacity + overfit + ripple;
}

export const unseenFunctions: Readonly<Record<string, BenchFunction>> = {
  wood: (x) => [wood(x)],
  helical_valley: (x) => [helicalValley(x)],
  brown_badly_scaled: (x) => [brownBadlyScaled(x)],
  branin: (x) => [branin(x)],
  six_hump_camel: (x) => [sixHumpCamel(x)],
  hartmann3: (x) => [hartmann(x, HARTMANN3_A, HARTMANN3_P)],
  hartmann6: (x) => [hartmann(x, HARTMANN6_A, HARTMANN6_P)],
  styblinski_tang: (x) => [styblinskiTang(x)],
  ackley: (x) => [ackley(x)],
  floored_quadratic: (x, params) => {
    const weights = params.weights;
    const shift = params.shift;
    if (weights === undefined || shift === undefined) throw new Error('floored_quadratic needs weights and shift');
    return [flooredQuadratic(x, weights, shift)];
  },
  g08: (x) => g08(x),
  spring: (x) => spring(x),
  lora_grid: (x) => [loraGrid(x)],
};
