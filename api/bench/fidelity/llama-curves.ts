/**
 * The real-curve family of `npm run bench:fidelity`: validation-loss curves of LoRA runs of the
 * runner's tiny demo Llama on CPU, tabulated once by tabulate_llama.py into llama-curves.json
 * (committed, with how it was made). One problem per training seed of the table, so the two show
 * run-to-run noise side by side; a benchmark seed is a random order of the same configurations.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomSequence, type TabulatedCurves } from './curves';

export interface RealCurveTable {
  how: string;
  made: Record<string, string | number>;
  /** Grid levels by parameter, first most significant in the configuration index. */
  grid: Record<string, number[]>;
  /** Optimizer step of each tabulated point (evenly spaced, the last is the run's end). */
  steps: number[];
  configs: Record<string, number>[];
  /** curves[trainingSeed][config][point]. */
  curves: Record<string, number[][]>;
}

export interface RealCurveProblem {
  id: string;
  trainingSeed: string;
  /** Levels of the grid, for Optuna's samplers (configuration index is mixed-radix over them). */
  levels: number[];
}

export const LLAMA_TABLE_FILE = resolve(__dirname, '../../../../api/bench/fidelity/llama-curves.json');

export function loadRealCurveTable(file = LLAMA_TABLE_FILE): RealCurveTable {
  return JSON.parse(readFileSync(file, 'utf8')) as RealCurveTable;
}

export function realCurveProblems(table: RealCurveTable): RealCurveProblem[] {
  const levels = Object.values(table.grid).map((values) => values.length);
  return Object.keys(table.curves).map((trainingSeed) => ({
    id: `llama_lora_seed${trainingSeed}`,
    trainingSeed,
    levels,
  }));
}

/** Points per curve: one bench step (one GPU-second) per evaluation interval. */
export function realCurveSteps(table: RealCurveTable): number {
  return table.steps.length;
}

export function tabulateReal(table: RealCurveTable, problem: RealCurveProblem, seed: number): TabulatedCurves {
  const curves = table.curves[problem.trainingSeed];
  return {
    curves,
    shapes: curves.map(() => 'real'),
    // The order depends on the benchmark seed only, so both training seeds see the same sequence.
    sequence: randomSequence('llama_lora', seed, curves.length),
  };
}
