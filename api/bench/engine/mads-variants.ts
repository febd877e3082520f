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
 *   --problem-set unseen (or all, or heldout: heldout-problems.ts): that set's problems, all unless --problems
 *   --per-run: also each run's evaluations to pass the test, in simplex gradients (which runs a
 *   variant loses, and where)
 */
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
import { parseDevLoopArgs } from './dev-loop-args';

const TAU = 1e-3;
const ALPHAS = [1, 2, 5, 10, 20, 50, 100];

function main(argv: readonly string[]): void {
  const { variants, problems, seeds, qs, extra } = parseDevLoopArgs(
    argv,
    { seeds: '0,1', q: '1,4,16' },
    { 'per-run': { type: 'boolean', default: false } },
  );
  const solvers: SolverRuns[] = [];
  for (const [name, given] of Object.entries(variants)) {
    // A variant may name its own q values ("q": [4, 16]): one that only changes the behaviour
    // with points in flight need not repeat the sequential runs (its drop is then taken against
    // the first variant's q = 1).
    const { q: ownQs, ...options } = given;
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
  if (extra['per-run'] === true) process.stdout.write(`${perRunTable(solves, labels)}\n\n`);
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
