/**
 * Development loop for issue 15, item 2 (small budgets): MADS option sets, sequential (q = 1),
 * against NOMAD 4.6.0's and Optuna TPE's cached traces (~/.cache/meshtune/nomad-traces, written by
 * run-engine-bench.js; this tool never runs NOMAD). f_L per (problem) is the best of every run
 * shown, NOMAD's q = 1/4/16 traces included where cached, so the figures are close to
 * bench:engine's (whose f_L also has MADS with q = 4, 16 and the nomad4 preset). Prints, per run,
 * the evaluation at which each solver passes the τ test, then the profile at 5 … 100(n+1).
 * Figures only.
 *
 *   node dist-engine/api/bench/engine/small-budget.js --variants '{"default":{}}' --seeds 0,1
 *   --problem-set unseen|all|heldout, --problems a,b (as mads-variants.js)
 */
import fs from 'node:fs';
import { benchSourceDir, nomadJobProblem, runCacheFile } from './nomad';
import { runMadsParallel } from './parallel';
import { solveRecords, type SolverRuns } from './parallel-report';
import { dimensionOf } from './problems';
import type { RunTrace } from './traces';
import { parseDevLoopArgs } from './dev-loop-args';

const TAU = 1e-3;
const ALPHAS = [5, 10, 20, 50, 100];

function main(argv: readonly string[]): void {
  const { variants, problems, seeds } = parseDevLoopArgs(argv, { seeds: '0,1', q: '1' });
  const sourceDir = benchSourceDir();
  const reference: SolverRuns[] = [];
  for (const [label, blockSize, solver] of [
    ['NOMAD q=1', 1, 'nomad'],
    ['NOMAD q=4', 4, 'nomad'],
    ['NOMAD q=16', 16, 'nomad'],
    ['TPE', 1, 'tpe'],
  ] as const) {
    const runs: RunTrace[] = [];
    for (const p of problems) {
      for (const s of seeds) {
        const file = runCacheFile(sourceDir, nomadJobProblem(p), s, blockSize, solver);
        if (fs.existsSync(file)) runs.push(JSON.parse(fs.readFileSync(file, 'utf8')) as RunTrace);
      }
    }
    if (runs.length > 0) reference.push({ label, family: label, q: blockSize, runs });
    if (runs.length > 0 && runs.length < problems.length * seeds.length) {
      process.stderr.write(`small-budget: ${label}: ${runs.length} of ${problems.length * seeds.length} runs cached\n`);
    }
  }
  const solvers: SolverRuns[] = [];
  for (const [name, options] of Object.entries(variants)) {
    const started = Date.now();
    const runs = problems.flatMap((p) => seeds.map((s) => runMadsParallel(p, s, 1, options)));
    solvers.push({ label: name, family: name, q: 1, runs });
    process.stderr.write(`small-budget: ${name} ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  const all = [...reference, ...solvers];
  const solves = solveRecords(problems, all, TAU);
  const shown = all.filter((s) => s.q === 1).map((s) => s.label);
  const lines: string[] = [];
  lines.push(`Problems ${problems.length} × seeds ${seeds.join(',')}, τ = ${TAU}, q = 1`);
  lines.push('');
  lines.push('Evaluations to pass the test, in simplex gradients (evaluations / (n+1)); - = never');
  lines.push(['run', ...shown].join(' | '));
  for (const p of problems) {
    for (const s of seeds) {
      const cells = shown.map((label) => {
        const r = solves.get(label)?.find((x) => x.problemId === p.id && x.seed === s);
        if (r === undefined) return 'n/a';
        return r.evaluations === Infinity ? '-' : (r.evaluations / (dimensionOf(p) + 1)).toFixed(1);
      });
      lines.push([`${p.id} s${s}`, ...cells].join(' | '));
    }
  }
  lines.push('');
  lines.push(['budget', ...shown].join(' | '));
  for (const alpha of ALPHAS) {
    const cells = shown.map((label) => {
      const list = solves.get(label) ?? [];
      const solved = list.filter((r) => r.evaluations <= alpha * (r.dimension + 1)).length;
      return (solved / Math.max(1, list.length)).toFixed(3);
    });
    lines.push([`${alpha}(n+1)`, ...cells].join(' | '));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2));
