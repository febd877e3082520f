/**
 * Command line of the engine's development loops (mads-variants.js, small-budget.js,
 * step-census.js): which MADS option sets to run, on which problems and seeds, with how many
 * runners. One parser so that the three tools take the same flags the same way, and a mistyped
 * flag stops the tool instead of being ignored (`node:util` parseArgs, strict).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { MadsOptions } from '../../src/mads';
import type { BenchProblem } from './problems';
import { problemSet } from './unseen-problems';

/** The 10 problems of bench:engine's recorded runs (docs/benchmarks.md, "Reproduce"). */
export const DEV_PROBLEMS = [
  'rosenbrock_2',
  'beale_2',
  'g06_2',
  'powell_singular_4',
  'rosenbrock_box_4',
  'quadratic_on_bounds_5',
  'mixed_rosenbrock_4',
  'hpo_svm_digits',
  'hpo_gb_breast_cancer',
  'hpo_mlp_wine',
];

/** A variant: MADS options, and optionally its own runner counts (`"q": [16]`). */
export type Variant = Partial<MadsOptions> & { q?: number[] };

export interface DevLoopArgs {
  variants: Record<string, Variant>;
  problems: readonly BenchProblem[];
  seeds: number[];
  qs: number[];
  /** The tool's own flags, as parseArgs read them. */
  extra: Record<string, string | boolean | undefined>;
}

const numbers = (list: string): number[] => list.split(',').map(Number);

/**
 * `--variants JSON` (default `{"default":{}}`), `--problem-set bench|unseen|all`, `--problems
 * a,b` (default: DEV_PROBLEMS for the bench set, or, with `defaultProblems: 'set'` or an explicit
 * `--problem-set`, every problem of the set), `--seeds 0,1`, `--q 1,4,16`, plus `extra` flags.
 */
export function parseDevLoopArgs(
  argv: readonly string[],
  defaults: { seeds: string; q: string; defaultProblems?: 'dev' | 'set' },
  extra: NonNullable<ParseArgsConfig['options']> = {},
): DevLoopArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      variants: { type: 'string', default: '{"default":{}}' },
      'problem-set': { type: 'string' },
      problems: { type: 'string' },
      seeds: { type: 'string', default: defaults.seeds },
      q: { type: 'string', default: defaults.q },
      ...extra,
    },
  });
  const given = values as Record<string, string | boolean | undefined>;
  const set = problemSet((given['problem-set'] as string | undefined) ?? 'bench');
  const everyProblem = defaults.defaultProblems === 'set' || given['problem-set'] !== undefined;
  const ids = given.problems !== undefined ? (given.problems as string).split(',') : everyProblem ? null : DEV_PROBLEMS;
  const problems = ids === null ? set : set.filter((p) => ids.includes(p.id));
  const unknown = ids?.filter((id) => !set.some((p) => p.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`--problems: not in the problem set: ${unknown.join(', ')}`);
  return {
    variants: JSON.parse(given.variants as string) as Record<string, Variant>,
    problems,
    seeds: numbers(given.seeds as string),
    qs: numbers(given.q as string),
    extra: given,
  };
}
