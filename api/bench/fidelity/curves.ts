/**
 * The parametric curve simulator of `npm run bench:fidelity`: a learning curve (a loss, minimised)
 * for every configuration of a small grid, tabulated once per (problem, seed) so that meshtune's
 * side and Optuna's side read identical numbers.
 *
 * A configuration's final loss comes from an analytic test function of the engine benchmark
 * (api/bench/engine/functions.ts) mapped to [1, 3]; the way there is one of three shapes:
 *   power law      L + A·((p + p0)^(−b) − (1 + p0)^(−b)) / (p0^(−b) − (1 + p0)^(−b))
 *   exponential    L + A·(e^(−k·p) − e^(−k)) / (1 − e^(−k))
 *   late drop      an exponential plus a second drop centred at p = m ∈ [0.2, 0.5] (a warm-up or a
 *                  learning-rate schedule): the shape the extrapolation does not model, and the
 *                  one that tempts a stopping rule into false stops
 * with Gaussian noise on every observation, the final one included (the objective is the last
 * observed value, as a runner reports it). The first two are close to, but not exactly, the
 * families api/src/early-stopping fits (those have no p0 and no normalisation to end at L).
 */
import { evaluateBenchFunction, type FunctionParams } from '../engine/functions';

export interface CurveProblem {
  id: string;
  /** Name in api/bench/engine/functions.ts. */
  function: string;
  params: FunctionParams;
  /** Grid levels per variable; configuration index is mixed-radix, first variable most significant. */
  levels: number[];
  lower: number;
  upper: number;
}

export const curveProblems: readonly CurveProblem[] = [
  { id: 'rosenbrock_3', function: 'rosenbrock', params: {}, levels: [8, 8, 8], lower: -2, upper: 2 },
  { id: 'beale_2', function: 'beale', params: {}, levels: [20, 20], lower: -4.5, upper: 4.5 },
  { id: 'powell_4', function: 'powell_singular', params: {}, levels: [5, 5, 5, 5], lower: -2, upper: 3 },
];

/** 'real': a tabulated run (llama-curves.ts), whose shape nobody chose. */
export type CurveShape = 'power_law' | 'exponential' | 'late_drop' | 'real';

export interface TabulatedCurves {
  /** curves[config][step − 1], steps 1..totalSteps, rounded to 1e−6 (what both sides read). */
  curves: number[][];
  shapes: CurveShape[];
  /** The order meshtune's sequential search and Optuna's replay sampler evaluate configurations in. */
  sequence: number[];
}

/** splitmix32-style generator: reproducible from (problem, seed, stream). */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function hashString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function configCount(problem: CurveProblem): number {
  return problem.levels.reduce((n, size) => n * size, 1);
}

export function pointOf(problem: CurveProblem, index: number): number[] {
  const x: number[] = new Array<number>(problem.levels.length);
  for (let d = problem.levels.length - 1; d >= 0; d--) {
    const size = problem.levels[d];
    const level = index % size;
    index = Math.floor(index / size);
    x[d] = problem.lower + ((problem.upper - problem.lower) * level) / (size - 1);
  }
  return x;
}

/** Final losses in [1, 3]: 1 + 2·log(1 + f)/log(1 + max f over the grid). */
export function finalLosses(problem: CurveProblem): number[] {
  const raw = Array.from({ length: configCount(problem) }, (_, i) =>
    Math.log1p(Math.max(0, evaluateBenchFunction(problem.function, pointOf(problem, i), problem.params)[0])),
  );
  const max = Math.max(...raw);
  return raw.map((r) => 1 + (2 * r) / max);
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

export function tabulate(problem: CurveProblem, seed: number, totalSteps: number): TabulatedCurves {
  const random = rng(hashString(problem.id) ^ Math.imul(seed, 0x27d4eb2d));
  const finals = finalLosses(problem);
  const curves: number[][] = [];
  const shapes: CurveShape[] = [];
  for (const final of finals) {
    const { curve, shape } = simulateCurve(final, random, totalSteps);
    curves.push(curve);
    shapes.push(shape);
  }
  return { curves, shapes, sequence: randomSequence(problem.id, seed, finals.length) };
}

/** One simulated curve ending near `final`, its shape and parameters drawn from `random` (the header's model). */
function simulateCurve(
  final: number,
  random: () => number,
  totalSteps: number,
): { curve: number[]; shape: CurveShape } {
  const draw = random();
  const shape: CurveShape = draw < 0.4 ? 'power_law' : draw < 0.85 ? 'exponential' : 'late_drop';
  // How far above its final value a run starts: loosely tied to the final value, so early
  // losses rank configurations only roughly.
  const amplitude = 1 + 1.5 * random() + 0.5 * (final - 1);
  const noise = 0.005 + 0.015 * random();
  const b = 0.3 + 1.2 * random();
  const p0 = 0.02 + 0.18 * random();
  const k = 1.5 + 6.5 * random();
  const lateShare = 0.3 + 0.4 * random();
  const lateCentre = 0.2 + 0.3 * random();
  const lateWidth = 0.03 + 0.05 * random();
  const decay = (p: number): number => {
    switch (shape) {
      case 'power_law':
        return ((p + p0) ** -b - (1 + p0) ** -b) / (p0 ** -b - (1 + p0) ** -b);
      case 'exponential':
        return (Math.exp(-k * p) - Math.exp(-k)) / (1 - Math.exp(-k));
      case 'late_drop': {
        const early = (Math.exp(-k * p) - Math.exp(-k)) / (1 - Math.exp(-k));
        const sigmoid = (q: number) => 1 / (1 + Math.exp((q - lateCentre) / lateWidth));
        const late = (sigmoid(p) - sigmoid(1)) / (sigmoid(0) - sigmoid(1));
        return (1 - lateShare) * early + lateShare * late;
      }
    }
  };
  const curve: number[] = [];
  for (let step = 1; step <= totalSteps; step++) {
    curve.push(round6(final + amplitude * decay(step / totalSteps) + noise * gaussian(random)));
  }
  return { curve, shape };
}

/**
 * The continuous family of the closed loop (`--continuous`): the same functions over the same box,
 * every variable real (MADS's continuous mesh, where the frame can shrink), X0 at the box's centre.
 * A point's curve is simulated as a grid configuration's is, its final value mapped with the grid's
 * scale (so finals are in [1, 3] over the grid and close to it elsewhere), its shape and noise drawn
 * from a stream of its own per (problem, seed, point): the same point always has the same curve.
 * Curves are appended to `curves` as points are first asked for; `configOf` gives their index.
 */
export interface ContinuousCurves extends TabulatedCurves {
  configOf(x: readonly number[]): number;
}

export function continuousCurves(problem: CurveProblem, seed: number, totalSteps: number): ContinuousCurves {
  const raw = Array.from({ length: configCount(problem) }, (_, i) =>
    Math.log1p(Math.max(0, evaluateBenchFunction(problem.function, pointOf(problem, i), problem.params)[0])),
  );
  const scale = Math.max(...raw);
  const curves: number[][] = [];
  const shapes: CurveShape[] = [];
  const index = new Map<string, number>();
  return {
    curves,
    shapes,
    sequence: [],
    configOf(x) {
      const key = x.join(',');
      const known = index.get(key);
      if (known !== undefined) return known;
      const f = evaluateBenchFunction(problem.function, [...x], problem.params)[0];
      const final = 1 + (2 * Math.log1p(Math.max(0, f))) / scale;
      const { curve, shape } = simulateCurve(final, rng(hashString(`${problem.id}/${seed}/${key}`)), totalSteps);
      curves.push(curve);
      shapes.push(shape);
      index.set(key, curves.length - 1);
      return curves.length - 1;
    },
  };
}

/** A random order of `count` configurations: Fisher–Yates from a stream of its own per (problem, seed). */
export function randomSequence(problemId: string, seed: number, count: number): number[] {
  const order = rng(hashString(`${problemId}/sequence`) ^ Math.imul(seed, 0x165667b1));
  const sequence = Array.from({ length: count }, (_, i) => i);
  for (let i = sequence.length - 1; i > 0; i--) {
    const j = Math.floor(order() * (i + 1));
    [sequence[i], sequence[j]] = [sequence[j], sequence[i]];
  }
  return sequence;
}
