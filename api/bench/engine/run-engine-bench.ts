/**
 * `npm run bench:engine` (issues 3, 15): meshtune's MADS against NOMAD 4 (PyNomadBBO) on the same
 * problems, X0, bounds and budget 100·(n+1), several seeds, with q = 1, 4, 16 points in flight
 * (MADS: q asynchronous runners; NOMAD: BB_MAX_BLOCK_SIZE q); prints Moré & Wild data profiles
 * per budget in evaluations and in rounds (simulated wall-clock time, parallel.ts) side by
 * side, per problem family, a per-problem summary and the engine's ask+tell / persistence
 * overhead. Figures only: nothing here passes or fails on performance.
 *
 *   --quick              1 seed and a smaller timing run
 *   --q 1,4,16           points in flight (default 1,4,16; 1 is always run)
 *   --baseline           also run MADS with preset 'nomad4' (the behaviour before issue 15)
 *   --no-tpe             without Optuna's TPE (run up to 20·(n+1) evaluations, sequential)
 *   --no-bo              without SMAC3's black-box facade (BO anchor, up to 20·(n+1), sequential)
 *   --bo-problems a,b    run SMAC3 only on these problems (default: all selected; it is slow)
 *   --bo-seeds N         SMAC3 on seeds 0…N−1 only (default: all seeds)
 *   --bo-factor F        SMAC3 budget F·(n+1) evaluations (default 20)
 *   --seeds N            seeds 0…N−1 (default 3; quick: 1)
 *   --problems a,b       only these problem ids
 *   --problem-set S      bench (default: problems.ts), unseen (unseen-problems.ts) or all
 *   --fresh-nomad        rerun NOMAD even where its traces are cached
 *   --nomad-workers K    NOMAD runs in parallel (default 1: the other core runs MADS)
 *   --no-timing / --no-profile
 *   --list-problems      print the problem set as a markdown table and exit
 */
import * as os from 'node:os';
import { dataProfile, evaluationsToSolve, problemReference, type ProfileProblem } from './data-profile';
import { evaluateBenchFunction } from './functions';
import { runMadsParallel } from './parallel';
import {
  familyTable,
  profileTable,
  roundsRatioTable,
  solveRecords,
  worstDrop,
  type SolverRuns,
} from './parallel-report';
import { runNomad, type CheckPoint, type NomadResult } from './nomad';
import { PROBLEM_CATEGORIES, budgetOf, dimensionOf, type BenchProblem } from './problems';
import { problemSet } from './unseen-problems';
import { formatNumber, markdownTable, median } from './report';
import { measureTiming, type TimingOptions, type TimingRow } from './timing';
import { toTraceEvaluation, type RunTrace } from './traces';

const TAU = 1e-3;
const SIMPLEX_GRADIENTS = [1, 2, 5, 10, 20, 50, 100];
const FAMILY_BUDGETS = [5, 10, 20, 50, 100];
const MADS = 'meshtune MADS';

interface Args {
  quick: boolean;
  seeds: number;
  problems: string[] | null;
  problemSet: string;
  freshNomad: boolean;
  nomadWorkers: number;
  timing: boolean;
  profile: boolean;
  q: number[];
  baseline: boolean;
  tpe: boolean;
  bo: boolean;
  boProblems: string[] | null;
  boSeeds: number | null;
  boFactor: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    quick: argv.includes('--quick'),
    seeds: 0,
    problems: null,
    problemSet: 'bench',
    freshNomad: argv.includes('--fresh-nomad'),
    nomadWorkers: 1,
    timing: !argv.includes('--no-timing'),
    profile: !argv.includes('--no-profile'),
    q: [1, 4, 16],
    baseline: argv.includes('--baseline'),
    tpe: !argv.includes('--no-tpe'),
    bo: !argv.includes('--no-bo'),
    boProblems: null,
    boSeeds: null,
    boFactor: 20,
  };
  args.seeds = args.quick ? 1 : 3;
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seeds = value('--seeds');
  if (seeds !== undefined) args.seeds = Math.max(1, Number.parseInt(seeds, 10));
  const workers = value('--nomad-workers');
  if (workers !== undefined) args.nomadWorkers = Math.max(1, Number.parseInt(workers, 10));
  args.problemSet = value('--problem-set') ?? 'bench';
  const problems = value('--problems');
  if (problems !== undefined) args.problems = problems.split(',');
  const boProblems = value('--bo-problems');
  if (boProblems !== undefined) args.boProblems = boProblems.split(',');
  const boSeeds = value('--bo-seeds');
  if (boSeeds !== undefined) args.boSeeds = Math.max(1, Number.parseInt(boSeeds, 10));
  const boFactor = value('--bo-factor');
  if (boFactor !== undefined) args.boFactor = Math.max(1, Number.parseInt(boFactor, 10));
  const q = value('--q');
  if (q !== undefined) args.q = [...new Set([1, ...q.split(',').map((v) => Math.max(1, Number.parseInt(v, 10)))])];
  return args;
}

/** 1e-3 rather than 0.001. */
function formatTau(tau: number): string {
  return tau.toExponential().replace('e+', 'e');
}

function log(message: string): void {
  process.stderr.write(`bench:engine: ${message}\n`);
}

function checkPointsOf(problem: BenchProblem): CheckPoint[] {
  const shifted = (delta: number): number[] => problem.x0.map((v) => v + delta);
  return [problem.x0, shifted(0.37), shifted(-1.1)].map((x) => ({ problemId: problem.id, x }));
}

function relativeDifference(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Both sides must compute the same functions: compare the Python outputs of the check points
 * and of NOMAD's first evaluations with the TypeScript ones.
 */
function crossCheck(problems: readonly BenchProblem[], nomad: NomadResult): { points: number; worst: number } {
  const byId = new Map(problems.map((p) => [p.id, p]));
  const pairs: { problem: BenchProblem; x: number[]; python: number[] }[] = nomad.checks.map((c) => ({
    problem: byId.get(c.problemId)!,
    x: c.x,
    python: c.outputs,
  }));
  for (const run of nomad.runs) {
    run.x.slice(0, 25).forEach((x, i) => {
      const python = run.outputs[i];
      if (python !== null) pairs.push({ problem: byId.get(run.problemId)!, x, python });
    });
  }
  let worst = 0;
  for (const { problem, x, python } of pairs) {
    const ts = evaluateBenchFunction(problem.function, x, problem.params);
    const differences = ts.map((v, i) => relativeDifference(v, python[i] ?? NaN));
    const difference = ts.length === python.length ? Math.max(...differences) : Infinity;
    if (!(difference <= 1e-9)) {
      throw new Error(`functions disagree on ${problem.id} at (${x.join(', ')}): TS ${ts}, Python ${python}`);
    }
    worst = Math.max(worst, difference);
  }
  return { points: pairs.length, worst };
}

/** Points a solver evaluated outside the bounds or off the granularity (should be none). */
function invalidPoints(problem: BenchProblem, runs: readonly RunTrace[]): number {
  let invalid = 0;
  for (const run of runs) {
    for (const x of run.x) {
      const bad = problem.variables.some((v, i) => {
        const g = v.type === 'R' ? v.granularity : Math.max(1, v.granularity);
        const offGrid = g > 0 && Math.abs(x[i] / g - Math.round(x[i] / g)) > 1e-9;
        return (
          (v.lowerBound !== null && x[i] < v.lowerBound) || (v.upperBound !== null && x[i] > v.upperBound) || offGrid
        );
      });
      if (bad) invalid++;
    }
  }
  return invalid;
}

function profileProblemOf(
  problem: BenchProblem,
  runsBySolver: Readonly<Record<string, readonly RunTrace[]>>,
): ProfileProblem {
  const x0 = toTraceEvaluation(
    problem.outputTypes,
    evaluateBenchFunction(problem.function, problem.x0, problem.params),
  );
  const runs: Record<string, ReturnType<typeof toTraceEvaluation>[][]> = {};
  for (const [solver, traces] of Object.entries(runsBySolver)) {
    runs[solver] = traces.map((t) => t.outputs.map((o) => toTraceEvaluation(problem.outputTypes, o)));
  }
  return { id: problem.id, dimension: dimensionOf(problem), f0: x0.feasible ? x0.f : null, runs };
}

function bestFeasible(problem: BenchProblem, run: RunTrace): number {
  let best = Infinity;
  for (const o of run.outputs) {
    const e = toTraceEvaluation(problem.outputTypes, o);
    if (e.feasible && e.f < best) best = e.f;
  }
  return best;
}

function printProfiles(
  problems: readonly BenchProblem[],
  madsRuns: readonly RunTrace[],
  nomad: NomadResult,
  seeds: number,
): void {
  const nomadLabel = `NOMAD ${nomad.pynomadVersion}`;
  const solvers = [MADS, nomadLabel];
  const runsOf = (runs: readonly RunTrace[], id: string): RunTrace[] => runs.filter((r) => r.problemId === id);
  const profileProblems = problems.map((p) =>
    profileProblemOf(p, { [MADS]: runsOf(madsRuns, p.id), [nomadLabel]: runsOf(nomad.runs, p.id) }),
  );

  const rows = dataProfile(profileProblems, solvers, TAU, SIMPLEX_GRADIENTS);
  const instances = problems.length * seeds;
  console.log(
    `\n### Data profile, τ = ${formatTau(TAU)} (share of ${problems.length} problems × ${seeds} seed(s) = ${instances} runs solved)\n`,
  );
  console.log(
    markdownTable(
      ['budget (simplex gradients)', 'evaluations', MADS, nomadLabel],
      rows.map((r) => [
        String(r.simplexGradients),
        `${r.simplexGradients}·(n+1)`,
        r.shareSolved[MADS].toFixed(3),
        r.shareSolved[nomadLabel].toFixed(3),
      ]),
    ),
  );

  for (const tau of [1e-1, 1e-5]) {
    const [full] = dataProfile(profileProblems, solvers, tau, [100]);
    console.log(
      `\nAt 100·(n+1) evaluations with τ = ${formatTau(tau)}: ${MADS} ${full.shareSolved[MADS].toFixed(3)}, ` +
        `${nomadLabel} ${full.shareSolved[nomadLabel].toFixed(3)}`,
    );
  }

  console.log(
    `\n### Per problem (τ = ${formatTau(TAU)}, budget 100·(n+1); best = best feasible value, median over seeds)\n`,
  );
  const table = problems.map((p, index) => {
    const profile = profileProblems[index];
    const reference = problemReference(profile, TAU);
    const solved = evaluationsToSolve(profile, TAU);
    const solvedCount = (solver: string): string =>
      `${(solved[solver] ?? []).filter((t) => t !== Infinity).length}/${seeds}`;
    const madsOf = runsOf(madsRuns, p.id);
    const nomadOf = runsOf(nomad.runs, p.id);
    return [
      p.id,
      p.category,
      String(dimensionOf(p)),
      formatNumber(reference.fBest),
      formatNumber(median(madsOf.map((r) => bestFeasible(p, r)))),
      formatNumber(median(nomadOf.map((r) => bestFeasible(p, r)))),
      solvedCount(MADS),
      solvedCount(nomadLabel),
      formatNumber(median(madsOf.map((r) => r.seconds)), 2),
      formatNumber(median(nomadOf.map((r) => r.seconds)), 2),
    ];
  });
  console.log(
    markdownTable(
      [
        'problem',
        'kind',
        'n',
        'f_L',
        'MADS best',
        'NOMAD best',
        'MADS solved',
        'NOMAD solved',
        'MADS s/run',
        'NOMAD s/run',
      ],
      table,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  console.log(
    '\n(MADS s/run = time inside ask+tell; NOMAD s/run = the whole PyNomad.optimize call, blackbox and Python callback included.)',
  );

  const invalid = problems.map((p) => ({
    id: p.id,
    mads: invalidPoints(p, runsOf(madsRuns, p.id)),
    nomad: invalidPoints(p, runsOf(nomad.runs, p.id)),
  }));
  const flagged = invalid.filter((i) => i.mads > 0 || i.nomad > 0);
  console.log(
    flagged.length === 0
      ? '\nEvery evaluated point of both solvers was inside the bounds and on the granularity.'
      : `\nPoints outside the bounds or off the granularity: ${flagged.map((i) => `${i.id} MADS ${i.mads} NOMAD ${i.nomad}`).join('; ')}`,
  );
  const stops = new Map<string, number>();
  for (const run of madsRuns) stops.set(run.stopReason, (stops.get(run.stopReason) ?? 0) + 1);
  console.log(`MADS stop reasons: ${[...stops].map(([reason, count]) => `${reason} ×${count}`).join(', ')}`);
}

function printParallel(problems: readonly BenchProblem[], solvers: readonly SolverRuns[], seeds: number): void {
  const labels = solvers.map((s) => s.label);
  const solves = solveRecords(problems, solvers, TAU);
  const instances = `${problems.length} problems × ${seeds} seed(s)`;
  console.log(
    `\n### Points in flight: data profile per budget in evaluations, τ = ${formatTau(TAU)} (share of ${instances} solved)\n\n` +
      'MADS q: q asynchronous runners (a finished runner tells and asks at once); NOMAD q: BB_MAX_BLOCK_SIZE q. ' +
      'Evaluation times are drawn uniformly in [0.5, 1.5] (same draws for every solver); evaluations count in the order they finish.\n',
  );
  console.log(profileTable(solves, labels, SIMPLEX_GRADIENTS, 'evaluations'));
  console.log(
    `\n### Points in flight: data profile per budget in rounds (wall-clock time in mean evaluation times), τ = ${formatTau(TAU)}\n`,
  );
  console.log(profileTable(solves, labels, SIMPLEX_GRADIENTS, 'rounds'));
  console.log('\n### Rounds to pass the test, against the same solver with q = 1 (runs both solved)\n');
  console.log(roundsRatioTable(solves, solvers));
  const targets: string[] = [];
  for (const solver of solvers) {
    if (solver.q === 1) continue;
    const sequential = solvers.find((s) => s.family === solver.family && s.q === 1);
    if (sequential === undefined) continue;
    const drop = worstDrop(solves, solver.label, sequential.label, SIMPLEX_GRADIENTS, 10);
    targets.push(`${solver.label}: largest drop from q = 1 at budgets ≥ 10·(n+1) evaluations ${drop.toFixed(3)}`);
  }
  console.log(`\n${targets.join('\n')}`);
  console.log(`\n### Per problem family, evaluations (share solved, τ = ${formatTau(TAU)})\n`);
  console.log(familyTable(solves, labels, FAMILY_BUDGETS, 'evaluations'));
  console.log(`\n### Per problem family, rounds (share solved, τ = ${formatTau(TAU)})\n`);
  console.log(familyTable(solves, labels, FAMILY_BUDGETS, 'rounds'));
}

function printTiming(rows: readonly TimingRow[]): void {
  console.log(
    '\n### Engine overhead (ask(1)+tell per point, after telling the cached points through the public API)\n\n' +
      `Wall-clock and process CPU time (user + system); load average at the start ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores.\n`,
  );
  console.log(
    markdownTable(
      [
        'n',
        'cached points',
        'prefill (s)',
        'cycles',
        'ask+tell median (ms)',
        'ask+tell p90 (ms)',
        'ask+tell mean (ms)',
        'ask+tell CPU median (ms)',
        'persist cycles',
        'toJSON→JSON→fromJSON median (ms)',
        'same, CPU (ms)',
        'state JSON (MB)',
      ],
      rows.map((r) => [
        String(r.dimension),
        String(r.cachedPoints),
        formatNumber(r.prefillSeconds, 3),
        String(r.cycles),
        formatNumber(r.askTellMedianMs, 3),
        formatNumber(r.askTellP90Ms, 3),
        formatNumber(r.askTellMeanMs, 3),
        formatNumber(r.askTellCpuMedianMs, 3),
        String(r.persistCycles),
        formatNumber(r.persistMedianMs, 3),
        formatNumber(r.persistCpuMedianMs, 3),
        formatNumber(r.stateBytes / 1e6, 3),
      ]),
    ),
  );
  for (const r of rows) {
    if (r.stopReason !== null) {
      console.log(`\nn = ${r.dimension}: the engine stopped (${r.stopReason}) after ${r.cycles} measured cycles.`);
    }
  }
}

function describeBound(value: number | null): string {
  return value === null ? '−∞/+∞' : String(value);
}

/** `--list-problems`: the problem set as the markdown table of docs/benchmarks.md. */
function printProblemList(set: readonly BenchProblem[]): void {
  const rows = set.map((p) => {
    const types = [...new Set(p.variables.map((v) => v.type))].join('/');
    const granularity = [...new Set(p.variables.map((v) => v.granularity))].join('/');
    const bounds = [
      ...new Set(p.variables.map((v) => `[${describeBound(v.lowerBound)}, ${describeBound(v.upperBound)}]`)),
    ].join(' ');
    return [
      p.id,
      p.category,
      String(dimensionOf(p)),
      types,
      granularity,
      bounds.replaceAll('[−∞/+∞, −∞/+∞]', 'none').replaceAll('−∞/+∞]', '+∞]').replaceAll('[−∞/+∞', '[−∞'),
      `(${p.x0.join(', ')})`,
      p.outputTypes.join(' '),
      String(budgetOf(p)),
      p.optimum,
    ];
  });
  console.log(
    markdownTable(
      ['problem', 'kind', 'n', 'types', 'granularity', 'bounds', 'X0', 'outputs', 'budget', 'solution'],
      rows,
      ['l', 'l', 'r', 'l', 'l', 'l', 'l', 'l', 'r', 'l'],
    ),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.argv.includes('--list-problems')) {
    printProblemList(problemSet(args.problemSet));
    return;
  }
  // The held-out set has no Python twin (heldout-problems.ts): NOMAD and TPE cannot run on it.
  if (args.problemSet === 'heldout')
    throw new Error('--problem-set heldout is MADS-only: use small-budget.js or mads-variants.js');
  const problems = problemSet(args.problemSet).filter((p) => args.problems === null || args.problems.includes(p.id));
  if (problems.length === 0) throw new Error(`no problem matches --problems ${args.problems?.join(',')}`);
  const seeds = Array.from({ length: args.seeds }, (_, i) => i);
  const cpus = os.cpus();
  console.log('## bench:engine');
  console.log(
    `\n${new Date().toISOString()} · node ${process.version} · ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'} · ` +
      `args: ${process.argv.slice(2).join(' ') || '(none)'}`,
  );

  // NOMAD runs in a child process while this process runs MADS.
  const nomadPromise = args.profile
    ? runNomad(problems, {
        seeds,
        blockSizes: args.q,
        tpe: args.tpe,
        bo: false,
        workers: args.nomadWorkers,
        fresh: args.freshNomad,
        checkPoints: problems.flatMap(checkPointsOf),
      })
    : null;
  // Without this, a failing driver would be an unhandled rejection before it is awaited.
  nomadPromise?.catch(() => undefined);
  // SMAC3 (BO anchor) in its own venv, on all selected problems or --bo-problems.
  const boProblems = problems.filter((p) => args.boProblems === null || args.boProblems.includes(p.id));
  const boPromise =
    args.profile && args.bo && boProblems.length > 0
      ? runNomad(boProblems, {
          seeds: seeds.slice(0, args.boSeeds ?? seeds.length),
          blockSizes: [],
          bo: true,
          boFactor: args.boFactor,
          workers: Math.max(1, args.nomadWorkers),
          fresh: args.freshNomad,
          checkPoints: [],
        })
      : null;
  boPromise?.catch(() => undefined);

  const madsSolvers: SolverRuns[] = [];
  if (args.profile) {
    const started = Date.now();
    const variants = [
      { family: MADS, options: {} },
      ...(args.baseline ? [{ family: `${MADS} (nomad4)`, options: { preset: 'nomad4' as const } }] : []),
    ];
    for (const variant of variants) {
      for (const q of args.q) {
        const runs: RunTrace[] = [];
        for (const problem of problems) {
          for (const seed of seeds) runs.push(runMadsParallel(problem, seed, q, variant.options));
        }
        madsSolvers.push({ label: `${variant.family} q=${q}`, family: variant.family, q, runs });
        log(`${variant.family} q = ${q}: ${problems.length} problems × ${seeds.length} seeds done`);
      }
    }
    log(`MADS runs took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const madsRuns = madsSolvers.find((s) => s.family === MADS && s.q === 1)?.runs ?? [];

  const timingOptions: TimingOptions = args.quick
    ? { dimensions: [2, 10, 50], cachedPoints: 2000, cycles: 100, persistCycles: 5 }
    : { dimensions: [2, 10, 50], cachedPoints: 10_000, cycles: 300, persistCycles: 20 };
  const timing = args.timing
    ? timingOptions.dimensions.map((n) => {
        log(`timing n = ${n}`);
        return measureTiming(n, timingOptions);
      })
    : [];

  if (nomadPromise !== null) {
    const started = Date.now();
    const nomad = await nomadPromise;
    log(
      `NOMAD finished ${((Date.now() - started) / 1000).toFixed(1)} s after MADS and timing ` +
        `(${nomad.cachedRuns} of ${nomad.runs.length} runs from ~/.cache/meshtune/nomad-traces; --fresh-nomad reruns them)`,
    );
    const check = crossCheck(problems, nomad);
    console.log(
      `\nProblems: ${problems.length} (${PROBLEM_CATEGORIES.map(
        (c) => `${c} ${problems.filter((p) => p.category === c).length}`,
      )
        .filter((c) => !c.endsWith(' 0'))
        .join(
          ', ',
        )}), seeds ${seeds.join(', ')}, budget 100·(n+1) evaluations, MADS with default options, ask(1)/tell.`,
    );
    console.log(
      `NOMAD: PyNomadBBO ${nomad.pynomadVersion}, default parameters + SEED s (${nomad.cachedRuns} of ${nomad.runs.length} runs from the trace cache). ` +
        `TS and Python functions agree on ${check.points} points (max relative difference ${formatNumber(check.worst, 2)}).`,
    );
    const nomadLabel = `NOMAD ${nomad.pynomadVersion}`;
    const nomadSolvers: SolverRuns[] = args.q.map((q) => ({
      label: `${nomadLabel} q=${q}`,
      family: nomadLabel,
      q,
      runs: nomad.runs.filter((r) => r.solver !== 'tpe' && (r.blockSize ?? 1) === q),
    }));
    const tpeRuns = nomad.runs.filter((r) => r.solver === 'tpe');
    const tpeSolvers: SolverRuns[] =
      tpeRuns.length > 0 ? [{ label: 'Optuna TPE (≤ 20·(n+1))', family: 'tpe', q: 1, runs: tpeRuns }] : [];
    const bo = boPromise === null ? null : await boPromise;
    const boRuns = bo?.runs.filter((r) => r.solver === 'smac') ?? [];
    if (bo !== null) {
      console.log(
        `BO anchor: SMAC3 ${bo.smacVersion} BlackBoxFacade (seeded, X0 in the initial design, up to ${args.boFactor}·(n+1) evaluations) on ` +
          `${boProblems.length} problem(s) × ${Math.min(args.boSeeds ?? seeds.length, seeds.length)} seed(s): ${boProblems.map((p) => p.id).join(', ')}; its columns are shares of those problems only (compare it per family).`,
      );
    }
    const boSolvers: SolverRuns[] =
      boRuns.length > 0 ? [{ label: `SMAC3 BB (≤ ${args.boFactor}·(n+1))`, family: 'smac', q: 1, runs: boRuns }] : [];
    const sequentialNomad = { ...nomad, runs: nomadSolvers[0].runs };
    printProfiles(problems, madsRuns, sequentialNomad, seeds.length);
    printParallel(problems, [...madsSolvers, ...nomadSolvers, ...tpeSolvers, ...boSolvers], seeds.length);
  }
  if (timing.length > 0) printTiming(timing);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
