/**
 * The held-out problem set (`--problem-set heldout` of small-budget, mads-variants and
 * step-census): generated integer, ordinal and mixed landscapes that are in neither the bench's
 * set (problems.ts) nor the unseen set (unseen-problems.ts), for developing changes aimed at that
 * class (issue 15, item 2) without tuning to the sets they are judged on. MADS-only: there is no
 * Python twin, so NOMAD and TPE are not run on them (small-budget.js shows MADS variants only).
 * Every problem's lattice optimum below was found by enumeration (the lattices are small) or,
 * for the mixed one, by enumeration of the integer part and the continuous minimiser.
 */
import type { BenchFunction } from './functions';
import { variables, type BenchProblem } from './problems';

/** Round half up (the ordinal level of an index). */
const level = (v: number, top: number): number => Math.min(Math.max(Math.floor(v + 0.5), 0), top);

/**
 * A LoRA-shaped grid on five ordinal indices, placed differently from unseen's lora_grid:
 * rank 4·2^r (r 0–6), alpha/rank 2^(a−2) (a 0–5), log10 lr = −6 + l/4 (l 0–16), warm-up steps
 * level w (0–5), dropout level k (0–4). Small data: capacity helps little and high rank over-fits,
 * so the optimum is at a low rank; warm-up lets a larger update through before divergence (a loss
 * plateau of 5); the update's best log-scale moves with rank and warm-up.
 */
function loraSmallData(x: readonly number[]): number {
  const r = x[0];
  const a = x[1];
  const l = x[2];
  const w = level(x[3], 5);
  const k = level(x[4], 4);
  const p = [0, 0.05, 0.1, 0.2, 0.3][k];
  const logScale = -6 + l / 4 + (a - 2) * Math.log10(2);
  if (logScale > -2.9 + 0.15 * w) return 5;
  const best = -4.1 + 0.08 * w - 0.1 * r;
  const valley = 0.5 * (logScale - best) ** 2;
  const capacity = 0.25 * Math.exp(-1.2 * r);
  const overfit = 0.03 * r * r * ((p - 0.05 * r) / 0.15) ** 2 + 0.015 * r;
  const warmupCost = 0.012 * w;
  const ripple = 0.008 * Math.sin(2.1 * l + 1.3 * a + 0.7 * r + 2.9 * k + 1.1 * w);
  return 1.4 + valley + capacity + overfit + warmupCost + ripple;
}

/**
 * Two basins on four ordinal indices (batch size 2^(4+b), b 0–5; lr index l 0–12; weight decay
 * index d 0–6; epochs e 0–5): a broad, shallow basin at small batch and low lr, and a narrow,
 * deeper one at large batch, high lr and strong decay (the linear-scaling rule), far from X0.
 */
function twoBasinGrid(x: readonly number[]): number {
  const [b, l, d, e] = x;
  const shallow = 0.6 + 0.02 * ((b - 1) ** 2 + 0.5 * (l - 3) ** 2 + 0.3 * (d - 2) ** 2 + 0.4 * (e - 2) ** 2);
  const deep = 0.45 + 0.05 * ((b - 5) ** 2 + 1.5 * (l - b - 5) ** 2 + (d - 5) ** 2 + 0.6 * (e - 4) ** 2);
  return Math.min(shallow, deep) + 0.004 * Math.cos(1.9 * b + 1.1 * l + 2.3 * d + 0.7 * e);
}

/** Rastrigin on a shifted, halved integer lattice (separable, multimodal): y = (x − s)/2. */
function latticeRastrigin(x: readonly number[]): number {
  const shift = [1, -3, 2, -1, 3];
  let f = 0;
  x.forEach((v, i) => {
    const y = (v - shift[i % shift.length]) / 2;
    f += y * y - 10 * Math.cos(2 * Math.PI * y) + 10;
  });
  return f;
}

/**
 * A double well per axis in rotated coordinates (not separable): z = R·x/3 with R a fixed
 * rotation of the first three axes, f = Σ (z⁴ − 16z² + 5z)/2 — Styblinski–Tang turned by 30° and
 * 45°, so its 8 wells no longer sit on lattice lines through X0.
 */
function rotatedWells(x: readonly number[]): number {
  const c1 = Math.cos(Math.PI / 6);
  const s1 = Math.sin(Math.PI / 6);
  const c2 = Math.cos(Math.PI / 4);
  const s2 = Math.sin(Math.PI / 4);
  const u = x.map((v) => v / 3);
  // Rotation about axis 3 by 30°, then about axis 1 by 45°.
  const a = c1 * u[0] - s1 * u[1];
  const b = s1 * u[0] + c1 * u[1];
  const z = [a, c2 * b - s2 * u[2], s2 * b + c2 * u[2]];
  let f = 0;
  for (const zi of z) f += zi ** 4 - 16 * zi * zi + 5 * zi;
  return 0.5 * f;
}

/** Six-hump camel on a quarter-step integer lattice, plus a continuous third variable. */
function mixedCamel(x: readonly number[]): number {
  const a = x[0] / 4;
  const b = x[1] / 4;
  const camel = (4 - 2.1 * a * a + (a * a * a * a) / 3) * a * a + a * b + (-4 + 4 * b * b) * b * b;
  return camel + 0.5 * (x[2] - 0.3 * a) ** 2;
}

/** Levy on the integer lattice scaled by ½ (non-separable neighbours, many local minima). */
function latticeLevy(x: readonly number[]): number {
  const w = x.map((v) => 1 + (v / 2 - 1) / 4);
  const n = w.length;
  let f = Math.sin(Math.PI * w[0]) ** 2;
  for (let i = 0; i < n - 1; i++) f += (w[i] - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i] + 1) ** 2);
  f += (w[n - 1] - 1) ** 2 * (1 + Math.sin(2 * Math.PI * w[n - 1]) ** 2);
  return f;
}

export const heldoutFunctions: Readonly<Record<string, BenchFunction>> = {
  lora_small_data: (x) => [loraSmallData(x)],
  two_basin_grid: (x) => [twoBasinGrid(x)],
  lattice_rastrigin: (x) => [latticeRastrigin(x)],
  rotated_wells: (x) => [rotatedWells(x)],
  mixed_camel: (x) => [mixedCamel(x)],
  lattice_levy: (x) => [latticeLevy(x)],
};

const I = (lower: number, upper: number) => variables(1, { type: 'I', lower, upper });

export const heldoutProblems: readonly BenchProblem[] = [
  {
    id: 'lora_small_data_5',
    category: 'integer',
    function: 'lora_small_data',
    params: {},
    variables: [...I(0, 6), ...I(0, 5), ...I(0, 16), ...I(0, 5), ...I(0, 4)],
    outputTypes: ['OBJ'],
    x0: [4, 2, 8, 0, 0],
    optimum: 'f* ≈ 1.4492 at (2, 2, 7, 0, 2) (enumerated, heldout-problems.spec.ts)',
  },
  {
    id: 'two_basin_grid_4',
    category: 'integer',
    function: 'two_basin_grid',
    params: {},
    variables: [...I(0, 5), ...I(0, 12), ...I(0, 6), ...I(0, 5)],
    outputTypes: ['OBJ'],
    x0: [2, 4, 2, 2],
    optimum: 'f* ≈ 0.44612 at (5, 10, 5, 4), the deep basin; X0 in the shallow one',
  },
  {
    id: 'lattice_rastrigin_3',
    category: 'integer',
    function: 'lattice_rastrigin',
    params: {},
    variables: variables(3, { type: 'I', lower: -8, upper: 8 }),
    outputTypes: ['OBJ'],
    x0: [5, 5, 5],
    optimum: 'f* = 0 at (1, −3, 2)',
  },
  {
    id: 'rotated_wells_3',
    category: 'integer',
    function: 'rotated_wells',
    params: {},
    variables: variables(3, { type: 'I', lower: -12, upper: 12 }),
    outputTypes: ['OBJ'],
    x0: [6, 6, 6],
    optimum: 'f* ≈ −112.423 at (−12, −6, 0), on a bound (enumerated, heldout-problems.spec.ts)',
  },
  {
    id: 'mixed_camel_3',
    category: 'integer',
    function: 'mixed_camel',
    params: {},
    variables: [...I(-12, 12), ...I(-8, 8), ...variables(1, { lower: -2, upper: 2 })],
    outputTypes: ['OBJ'],
    x0: [-6, 4, 1],
    optimum: 'f* ≈ −0.98438 at (0, −3, 0) (integer part enumerated; x3 = 0.3·x1/4)',
  },
  {
    id: 'lattice_levy_4',
    category: 'integer',
    function: 'lattice_levy',
    params: {},
    variables: variables(4, { type: 'I', lower: -10, upper: 10 }),
    outputTypes: ['OBJ'],
    x0: [-6, 7, -6, 7],
    optimum: 'f* = 0 at 2·1',
  },
];
