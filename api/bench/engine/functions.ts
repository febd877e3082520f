/**
 * Test functions of the engine benchmark. `functions.py` implements the same functions for the
 * NOMAD driver, name for name and in the same order of operations; `run-engine-bench` checks
 * that both sides agree before it trusts any trace.
 *
 * A function maps a point to its blackbox outputs in the problem's BB_OUTPUT_TYPE order:
 * the objective first, then constraints c(x) ≤ 0.
 */

import { unseenFunctions } from './unseen-functions';
import { heldoutFunctions } from './heldout-problems';

export type FunctionParams = Readonly<Record<string, readonly number[]>>;
export type BenchFunction = (x: readonly number[], params: FunctionParams) => number[];

function param(params: FunctionParams, name: string): readonly number[] {
  const value = params[name];
  if (value === undefined) throw new Error(`missing function parameter "${name}"`);
  return value;
}

function sumOfSquares(x: readonly number[], offset: number): number {
  let sum = 0;
  for (const xi of x) sum += (xi - offset) ** 2;
  return sum;
}

/** Extended Rosenbrock (Moré, Garbow & Hillstrom 1981, #21 in its chained form); f* = 0 at 1. */
function rosenbrock(x: readonly number[]): number {
  let f = 0;
  for (let i = 0; i + 1 < x.length; i++) f += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  return f;
}

/** Beale (MGH #5); f* = 0 at (3, 0.5). */
function beale(x: readonly number[]): number {
  const [a, b] = x;
  return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2;
}

/** Powell singular (MGH #13); f* = 0 at 0, singular Hessian there. */
function powellSingular(x: readonly number[]): number {
  const [a, b, c, d] = x;
  return (a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4;
}

/** Σ w_i (x_i − s_i)²: shifted sphere, bound-optimum and integer variants. */
function weightedQuadratic(x: readonly number[], params: FunctionParams): number {
  const weights = param(params, 'weights');
  const shift = param(params, 'shift');
  let f = 0;
  for (let i = 0; i < x.length; i++) f += weights[i] * (x[i] - shift[i]) ** 2;
  return f;
}

export const benchFunctions: Readonly<Record<string, BenchFunction>> = {
  rosenbrock: (x) => [rosenbrock(x)],
  beale: (x) => [beale(x)],
  powell_singular: (x) => [powellSingular(x)],
  weighted_quadratic: (x, params) => [weightedQuadratic(x, params)],

  /**
   * NOMAD's canonical constrained example (examples/basic/batch/example2, PyNomad
   * test_single_constraint.py) with both constraints as PB: f = x5,
   * c1 = Σ(x_i − 1)² − 25, c2 = 25 − Σ(x_i + 1)²; f* = −4 at (1, 1, 1, 1, −4).
   */
  nomad_single_obj: (x) => [x[4], sumOfSquares(x, 1) - 25, 25 - sumOfSquares(x, -1)],

  /** Rosen–Suzuki (Hock & Schittkowski #43); f* = −44 at (0, 1, 2, −1). */
  rosen_suzuki: (x) => {
    const [a, b, c, d] = x;
    return [
      a * a + b * b + 2 * c * c + d * d - 5 * a - 5 * b - 21 * c + 7 * d,
      a * a + b * b + c * c + d * d + a - b + c - d - 8,
      a * a + 2 * b * b + c * c + 2 * d * d - a - d - 10,
      2 * a * a + b * b + c * c + 2 * a - b - d - 5,
    ];
  },

  /** G06 (Floudas & Pardalos; CEC 2006 g06): f* ≈ −6961.81388 at (14.095, 0.84296). */
  g06: (x) => {
    const [a, b] = x;
    return [(a - 10) ** 3 + (b - 20) ** 3, -((a - 5) ** 2) - (b - 5) ** 2 + 100, (a - 6) ** 2 + (b - 5) ** 2 - 82.81];
  },

  /** Σ x_i² subject to Σ x_i ≥ 1 (c = 1 − Σ x_i); f* = 1/n at x_i = 1/n (active constraint). */
  sphere_halfspace: (x) => {
    let sum = 0;
    for (const xi of x) sum += xi;
    return [sumOfSquares(x, 0), 1 - sum];
  },

  /** weighted_quadratic subject to Σ x_i ≤ capacity (c = Σ x_i − capacity). */
  quadratic_capacity: (x, params) => {
    let sum = 0;
    for (const xi of x) sum += xi;
    return [weightedQuadratic(x, params), sum - param(params, 'capacity')[0]];
  },

  hpo_table: (x, params) => [hpoTable(x, params)],
};

/**
 * A tabulated hyperparameter problem (hpo-tables.json, tabulate_hpo.py; twin of hpo_functions.py):
 * params shape, lower, step per axis and the row-major values (last axis fastest). Coordinates
 * are clamped to the grid and interpolated linearly between the nearest grid points (exact on
 * integer and ordinal axes).
 */
function hpoTable(x: readonly number[], params: FunctionParams): number {
  const shape = param(params, 'shape');
  const lower = param(params, 'lower');
  const step = param(params, 'step');
  const values = param(params, 'values');
  const d = shape.length;
  const base: number[] = [];
  const frac: number[] = [];
  for (let k = 0; k < d; k++) {
    let t = (x[k] - lower[k]) / step[k];
    t = Math.min(Math.max(t, 0), shape[k] - 1);
    const i = shape[k] > 1 ? Math.min(Math.floor(t), shape[k] - 2) : 0;
    base.push(i);
    frac.push(shape[k] > 1 ? t - i : 0);
  }
  let total = 0;
  for (let corner = 0; corner < 1 << d; corner++) {
    let weight = 1;
    let index = 0;
    for (let k = 0; k < d; k++) {
      const bit = (corner >> (d - 1 - k)) & 1;
      weight *= bit === 1 ? frac[k] : 1 - frac[k];
      index = index * shape[k] + base[k] + bit;
    }
    if (weight !== 0) total += weight * values[index];
  }
  return total;
}

export function evaluateBenchFunction(name: string, x: readonly number[], params: FunctionParams): number[] {
  const fn = benchFunctions[name] ?? unseenFunctions[name] ?? heldoutFunctions[name];
  if (fn === undefined) throw new Error(`unknown benchmark function "${name}"`);
  return fn(x, params);
}
