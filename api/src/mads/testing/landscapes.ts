/**
 * Classes of objective/constraint landscapes and study shapes the engine has never seen, and the
 * ask/tell driver that runs one of each (imported by landscapes.spec.ts and the exploratory
 * api/bench/engine/landscape-hunt.ts only; not part of the engine's API in ../index.ts). The
 * driver keeps q points in flight, tells a random subset in random order (late results), restores
 * the engine from its JSON once mid-run, and reports what the specs judge: a throw, an invalid or
 * repeated suggestion, a stall (nothing asked while budget is left and nothing is in flight), the
 * stop and evaluations used, and the slowest engine call (CPU ms).
 */
import { Mads } from '..';
import type { MadsOptions } from '..';
import type { OutputType, ProblemSpec, VariableSpec } from '../../optimizer-contract/algorithm';
import { isMultipleOf } from '../../math/numerics';
import { cacheKey } from '../space';

export type Outputs = (x: readonly number[], j: number) => number[] | null;

export interface Shape {
  name: string;
  variables: VariableSpec[];
  x0: number[][];
  options?: Partial<MadsOptions>;
  /** Number of points of a finite space (null when effectively infinite). */
  size: number | null;
}

export interface Landscape {
  name: string;
  outputTypes: OutputType[];
  outputs: Outputs;
}

export const R = (lb: number | null, ub: number | null, g = 0): VariableSpec => ({
  type: 'R',
  lowerBound: lb,
  upperBound: ub,
  granularity: g,
  fixedValue: null,
});
export const I = (lb: number, ub: number): VariableSpec => ({
  type: 'I',
  lowerBound: lb,
  upperBound: ub,
  granularity: 0,
  fixedValue: null,
});
export const B = (): VariableSpec => ({ type: 'B', lowerBound: 0, upperBound: 1, granularity: 0, fixedValue: null });

export function hash(x: readonly number[]): number {
  let h = 2166136261;
  for (const v of x) {
    const s = String(v);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  }
  return ((h >>> 0) % 1_000_000) / 1_000_000;
}
export const sphere = (x: readonly number[]): number => x.reduce((a, v, i) => a + (v - 0.7 - (i % 3)) ** 2, 0);

export const SHAPES: Shape[] = [
  { name: '1 real', variables: [R(-5, 5)], x0: [[1]], size: null },
  { name: '3 real', variables: [R(-5, 5), R(-5, 5), R(-5, 5)], x0: [[1, 1, 1]], size: null },
  { name: '40 real', variables: Array.from({ length: 40 }, () => R(-5, 5)), x0: [Array(40).fill(0)], size: null },
  { name: '6 binary', variables: Array.from({ length: 6 }, () => B()), x0: [Array(6).fill(0)], size: 64 },
  { name: '12 binary', variables: Array.from({ length: 12 }, () => B()), x0: [Array(12).fill(0)], size: 4096 },
  {
    name: '4 categorical of 5',
    variables: Array.from({ length: 4 }, () => I(0, 4)),
    x0: [[0, 0, 0, 0]],
    options: { categoricalVariables: [0, 1, 2, 3] },
    size: 625,
  },
  { name: '3 int width 1', variables: [I(0, 1), I(0, 1), I(0, 1)], x0: [[0, 0, 0]], size: 8 },
  { name: '1 int width 1', variables: [I(0, 1)], x0: [[0]], size: 2 },
  { name: 'huge range with granularity', variables: [R(0, 1e12, 0.001), R(0, 1, 0.5)], x0: [[5e11, 0.5]], size: null },
  { name: 'bounds ±1e15', variables: [R(-1e15, 1e15), R(-1e15, 1e15)], x0: [[0, 0]], size: null },
  { name: 'unbounded', variables: [R(null, null), R(null, 3)], x0: [[0, 0]], size: null },
  {
    name: 'mixed 2R 2I 2B',
    variables: [R(-5, 5), R(0, 1, 0.01), I(-3, 3), I(0, 100), B(), B()],
    x0: [[0, 0.5, 0, 50, 0, 1]],
    size: null,
  },
  // Lattices of dimension 20–50 and spaces mostly fixed (finding 22's classes, larger).
  { name: '30 binary', variables: Array.from({ length: 30 }, () => B()), x0: [Array(30).fill(0)], size: 2 ** 30 },
  {
    name: '20 categorical of 6',
    variables: Array.from({ length: 20 }, () => I(0, 5)),
    x0: [Array(20).fill(0)],
    options: { categoricalVariables: Array.from({ length: 20 }, (_, i) => i) },
    size: 6 ** 20,
  },
  {
    name: 'mixed 20 of many levels',
    variables: [
      ...Array.from({ length: 5 }, () => R(-5, 5)),
      ...Array.from({ length: 5 }, () => I(0, 1000)),
      ...Array.from({ length: 5 }, () => B()),
      ...Array.from({ length: 5 }, () => I(0, 19)),
    ],
    x0: [[...Array(5).fill(0), ...Array(5).fill(500), ...Array(5).fill(0), ...Array(5).fill(0)]],
    options: { categoricalVariables: [15, 16, 17, 18, 19] },
    size: null,
  },
  {
    name: '50 mixed',
    variables: [
      ...Array.from({ length: 20 }, () => R(-5, 5)),
      ...Array.from({ length: 10 }, () => I(-10, 10)),
      ...Array.from({ length: 20 }, () => B()),
    ],
    x0: [Array(50).fill(0)],
    size: null,
  },
  {
    name: '25 with 20 fixed',
    variables: Array.from({ length: 25 }, (_, i) =>
      i % 5 === 0 ? (i % 10 === 0 ? B() : I(0, 9)) : { ...R(-5, 5), fixedValue: i % 3 },
    ),
    x0: [Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? 0 : i % 3))],
    size: 2 ** 3 * 10 ** 2,
  },
];

export const LANDSCAPES: Landscape[] = [
  { name: 'smooth', outputTypes: ['OBJ'], outputs: (x) => [sphere(x)] },
  { name: 'constant', outputTypes: ['OBJ'], outputs: () => [1] },
  { name: 'steps', outputTypes: ['OBJ'], outputs: (x) => [Math.floor(sphere(x) / 3)] },
  { name: 'discontinuous', outputTypes: ['OBJ'], outputs: (x) => [sphere(x) + (x[0] > 0.3 ? 1e6 : 0)] },
  { name: 'huge +1e300', outputTypes: ['OBJ'], outputs: (x) => [1e300 * (1 + sphere(x))] },
  { name: 'huge -1e300', outputTypes: ['OBJ'], outputs: (x) => [-1e300 / (1 + sphere(x))] },
  {
    name: 'near MAX_VALUE',
    outputTypes: ['OBJ'],
    outputs: (x) => [Number.MAX_VALUE * (0.5 + 0.5 * Math.tanh(sphere(x)))],
  },
  { name: '-MAX_VALUE mix', outputTypes: ['OBJ'], outputs: (_x, j) => [j % 2 ? -Number.MAX_VALUE : Number.MAX_VALUE] },
  { name: 'tiny 1e-300', outputTypes: ['OBJ'], outputs: (x) => [1e-300 * sphere(x)] },
  { name: 'subnormal', outputTypes: ['OBJ'], outputs: (x) => [5e-324 * Math.round(sphere(x))] },
  { name: 'negative zero', outputTypes: ['OBJ'], outputs: (_x, j) => [j % 2 ? -0 : 0] },
  { name: '+Infinity all', outputTypes: ['OBJ'], outputs: () => [Infinity] },
  { name: '-Infinity some', outputTypes: ['OBJ'], outputs: (x, j) => [j % 3 === 1 ? -Infinity : sphere(x)] },
  { name: '-Infinity all', outputTypes: ['OBJ'], outputs: () => [-Infinity] },
  { name: 'NaN all', outputTypes: ['OBJ'], outputs: () => [Number.NaN] },
  { name: 'all failed', outputTypes: ['OBJ'], outputs: () => null },
  { name: 'x0 only ok', outputTypes: ['OBJ'], outputs: (x, j) => (j === 0 ? [sphere(x)] : null) },
  { name: 'EB all infeasible', outputTypes: ['OBJ', 'EB'], outputs: (x) => [sphere(x), 1] },
  { name: 'PB all infeasible', outputTypes: ['OBJ', 'PB'], outputs: (x) => [sphere(x), 1 + hash(x)] },
  {
    name: 'PB -Infinity constraint',
    outputTypes: ['OBJ', 'PB'],
    outputs: (x, j) => [sphere(x), j % 2 ? -Infinity : 1],
  },
  { name: 'PB +Infinity constraint', outputTypes: ['OBJ', 'PB'], outputs: (x, j) => [sphere(x), j % 2 ? Infinity : 1] },
  { name: 'PB huge', outputTypes: ['OBJ', 'PB'], outputs: (x) => [sphere(x), 1e300 * (1 + hash(x))] },
  {
    name: 'tiny feasible region',
    outputTypes: ['OBJ', 'PB', 'EB'],
    outputs: (x) => [
      sphere(x),
      Math.abs(x[0] - 0.123) - 1e-3,
      x.length > 1 ? Math.abs(x[x.length - 1] - 0.5) - 0.2 : -1,
    ],
  },
  {
    name: '10 PB 5 EB',
    outputTypes: ['OBJ', ...Array<OutputType>(10).fill('PB'), ...Array<OutputType>(5).fill('EB')],
    outputs: (x) => [
      sphere(x),
      ...Array.from({ length: 10 }, (_, k) => Math.sin(k + (k + 1) * x.reduce((a, v) => a + v, 0)) - 0.5),
      ...Array.from({ length: 5 }, (_, k) => Math.abs(x[k % x.length]) - 4),
    ],
  },
  { name: 'noisy', outputTypes: ['OBJ'], outputs: (x) => [sphere(x) + 0.5 * hash(x)] },
  { name: 'pure noise', outputTypes: ['OBJ'], outputs: (x) => [hash(x)] },
  {
    name: 'EXTRA_O NaN',
    outputTypes: ['EXTRA_O', 'OBJ', 'EXTRA_O'],
    outputs: (x) => [Number.NaN, sphere(x), Infinity],
  },
];

export interface RunResult {
  error: string | null;
  stall: boolean;
  stop: string;
  evaluations: number;
  budget: number;
  slowestMs: number;
}

/** Deterministic shuffle (xorshift). */
function rng(seed: number): () => number {
  let s = seed * 2654435761 + 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 1_000_000) / 1_000_000;
  };
}

export function runOne(
  shape: Shape,
  land: Landscape,
  preset: 'meshtune' | 'nomad4',
  q: number,
  seed: number,
  budget: number,
  restoreAt: number,
  /** Wraps every engine call (ask, tell, restore), e.g. to count the work it does. */
  around: (call: () => void) => void = (call) => call(),
): RunResult {
  const problem: ProblemSpec = {
    variables: shape.variables,
    outputTypes: land.outputTypes,
    x0: shape.x0,
    maxEvaluations: budget,
    seed,
  };
  const random = rng(seed + 17);
  let slowest = 0;
  // CPU time of the call (the engine is synchronous on this thread), not wall time: other
  // processes on a shared machine stretch the wall clock, not the work done.
  const timed = <T>(fn: () => T): T => {
    const t = process.cpuUsage();
    let r: T | undefined;
    around(() => {
      r = fn();
    });
    const used = process.cpuUsage(t);
    slowest = Math.max(slowest, (used.user + used.system) / 1000);
    return r as T;
  };
  let alg: Mads;
  const seen = new Set<string>();
  let pending: number[][] = [];
  let j = 0;
  let round = 0;
  try {
    alg = Mads.create(problem, { ...(shape.options ?? {}), preset });
    for (;;) {
      round++;
      if (round === restoreAt) {
        const saved = alg;
        alg = timed(() => Mads.fromJSON(JSON.parse(JSON.stringify(saved.toJSON()))));
      }
      if (alg.stopReason !== null) break;
      const asked = timed(() => alg.ask(Math.max(0, q - pending.length)));
      for (const s of asked) {
        const key = cacheKey(s.x);
        if (seen.has(key)) throw new Error(`repeated point ${s.x.join(',')}`);
        seen.add(key);
        shape.variables.forEach((v, i) => {
          const xi = s.x[i];
          const lb = v.type === 'B' ? 0 : v.lowerBound;
          const ub = v.type === 'B' ? 1 : v.upperBound;
          const g = v.type === 'B' ? 1 : v.type === 'I' ? Math.max(1, v.granularity) : v.granularity;
          if (
            !Number.isFinite(xi) ||
            (lb !== null && xi < lb) ||
            (ub !== null && xi > ub) ||
            (g > 0 && !isMultipleOf(xi, g))
          )
            throw new Error(`invalid point ${s.x.join(',')}`);
        });
      }
      pending.push(...asked.map((s) => s.x));
      if (pending.length === 0) {
        if (alg.stopReason === null)
          return {
            error: null,
            stall: true,
            stop: 'none',
            evaluations: alg.evaluationCount,
            budget,
            slowestMs: slowest,
          };
        break;
      }
      // Tell a random non-empty subset, in random order (late results with q > 1).
      pending.sort(() => random() - 0.5);
      const n = q === 1 ? 1 : 1 + Math.floor(random() * pending.length);
      const told = pending.slice(0, n);
      pending = pending.slice(n);
      timed(() => alg.tell(told.map((x) => ({ x, outputs: land.outputs(x, j++) }))));
    }
    // A stop leaves the points in flight to be evaluated: their results still count.
    const last = alg;
    timed(() => last.tell(pending.map((x) => ({ x, outputs: land.outputs(x, j++) }))));
    return {
      error: null,
      stall: false,
      stop: alg.stopReason?.kind ?? 'none',
      evaluations: alg.evaluationCount,
      budget,
      slowestMs: slowest,
    };
  } catch (e) {
    return {
      error: (e as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(e),
      stall: false,
      stop: 'throw',
      evaluations: -1,
      budget,
      slowestMs: slowest,
    };
  }
}
