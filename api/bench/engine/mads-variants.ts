/**
 * Development loop for the engine's defaults (issue 15, items 1 and 2): MADS option sets against
 * each other only, no NOMAD, TPE or SMAC, so one pass takes minutes instead of hours. Each
 * variant runs with q = 1, 4, 16 in simulated time (parallel.ts) on the chosen problems and
 * seeds; the profiles share one f_L per problem (the best of every variant's runs), so they are
 * comparable with each other but not with bench:engine's tables (whose f_L includes NOMAD).
 * Figures only.
 *
 *   node dist-engine/api/bench/engine/mads-variants.js \
 *     --variants '{"default":{},"surrogate":{"surrogateSearch":true}}' \
 *     --problems rosenbrock_2,beale_2 --seeds 0,1,2 --q 1,4,16
 *   --problem-set unseen (or all): that set's problems (unseen-problems.ts), all unless --problems
 *   --per-run: also each run's evaluations to pass the test, in simplex gradients (which runs a
 *   variant loses, and where)
 */
import type { MadsOptions } from '../../src/mads';
import { runMadsParallel } from './parallel';
import {
  familyTable,
  perRunTable,
  profileTable,
  roundsRatioTable,
  solveRecords,
  worstDrop,
  type SolverRuns,
} from './parallel-report';
import { problemSet } from './unseen-problems';

const TAU = 1e-3;
const ALPHAS = [1, 2, 5, 10, 20, 50, 100];
const DEFAULT_PROBLEMS =
  'rosenbrock_2,beale_2,g06_2,powell_singular_4,rosenbrock_box_4,quadratic_on_bounds_5,mixed_rosenbrock_4,' +
  'hpo_svm_digits,hpo_gb_breast_cancer,hpo_mlp_wine';

function value(argv: readonly string[], flag: string, fallback: string): string {
  const i = argv.indexOf(flag);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
}

function main(argv: readonly string[]): void {
  const variants = JSON.parse(value(argv, '--variants', '{"default":{}}')) as Record<string, Partial<MadsOptions>>;
  // --problem-set unseen|all: every problem of that set unless --problems narrows it.
  const set = problemSet(value(argv, '--problem-set', 'bench'));
  const ids = value(
    argv,
    '--problems',
    argv.includes('--problem-set') ? set.map((p) => p.id).join(',') : DEFAULT_PROBLEMS,
  ).split(',');
  const problems = set.filter((p) => ids.includes(p.id));
  const seeds = value(argv, '--seeds', '0,1').split(',').map(Number);
  const qs = value(argv, '--q', '1,4,16').split(',').map(Number);
  const solvers: SolverRuns[] = [];
  for (const [name, given] of Object.entries(variants)) {
    // A variant may name its own q values ("q": [4, 16]): one that only changes the behaviour
    // with points in flight need not repeat the sequential runs (its drop is then taken against
    // the first variant's q = 1).
    const { q: ownQs, ...options } = given as Partial<MadsOptions> & { q?: number[] };
    for (const q of ownQs ?? qs) {
      const started = Date.now();
      const runs = problems.flatMap((p) => seeds.map((s) => runMadsParallel(p, s, q, options)));
      solvers.push({ label: `${name} q=${q}`, family: name, q, runs });
      process.stderr.write(`mads-variants: ${name} q=${q} ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    }
  }
  const solves = solveRecords(problems, solvers, TAU);
  const labels = solvers.map((s) => s.label);
  process.stdout.write(
    `Problems ${problems.length} × seeds ${seeds.join(',')}, τ = ${TAU}\n\n` +
      `${profileTable(solves, labels, ALPHAS, 'evaluations')}\n\n`,
  );
  process.stdout.write(`${familyTable(solves, labels, [5, 10, 20, 50, 100], 'evaluations')}\n\n`);
  process.stdout.write(`${roundsRatioTable(solves, solvers)}\n\n`);
  if (argv.includes('--per-run')) process.stdout.write(`${perRunTable(solves, labels)}\n\n`);
  for (const solver of solvers) {
    if (solver.q === 1) continue;
    const own = solvers.find((s) => s.family === solver.family && s.q === 1);
    const sequential = own ?? solvers.find((s) => s.q === 1);
    if (sequential === undefined) continue;
    const drop = worstDrop(solves, solver.label, sequential.label, ALPHAS, 10);
    process.stdout.write(
      `${solver.label}: largest drop from ${sequential.label} at ≥ 10·(n+1) evaluations ${drop.toFixed(3)}\n`,
    );
  }
}

main(process.argv.slice(2));
