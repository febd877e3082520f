/**
 * Problems and functions the engine's specs share (imported by *.spec.ts only; not part of the
 * engine's API in ../index.ts). One definition each, so that specs that compare runs of the same
 * problem (pipeline.spec.ts, small-budget.spec.ts, golden.spec.ts) cannot drift apart.
 */
import type { ProblemSpec } from '../../optimizer-contract/algorithm';

/** A continuous variable on [lowerBound, upperBound]. */
export const real = (lowerBound: number, upperBound: number) =>
  ({ type: 'R', lowerBound, upperBound, granularity: 0, fixedValue: null }) as const;

/** An integer variable on [lowerBound, upperBound]. */
export const int = (lowerBound: number, upperBound: number) =>
  ({ type: 'I', lowerBound, upperBound, granularity: 0, fixedValue: null }) as const;

/** Chained Rosenbrock: Σ 100·(x[i+1] − x[i]²)² + (1 − x[i])²; f* = 0 at (1, …, 1). */
export function rosenbrock(x: readonly number[]): number {
  let f = 0;
  for (let i = 0; i + 1 < x.length; i++) f += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  return f;
}

/** `rosenbrock` as the engine's outputs (one objective). */
export const rosenbrockOutputs = (x: readonly number[]): number[] => [rosenbrock(x)];

/** 3-D Rosenbrock on [-5, 5]³ from NOMAD's classic start (-1.2, 1, -1.2), 120 evaluations, seed 3. */
export const ROSENBROCK_3D: ProblemSpec = {
  variables: [real(-5, 5), real(-5, 5), real(-5, 5)],
  outputTypes: ['OBJ'],
  x0: [[-1.2, 1, -1.2]],
  maxEvaluations: 120,
  seed: 3,
};
