/**
 * Data profiles of several solvers with q points in flight (issue 15): per budget in
 * evaluations and in rounds (simulated wall-clock time in units of the mean evaluation time,
 * parallel.ts), per problem family, and rounds-to-target against the same solver run
 * sequentially. All columns share one reference f_L per problem (the best of every run).
 */
import { bestFeasibleSoFar, problemReference, type ProfileProblem } from './data-profile';
import { evaluateBenchFunction } from './functions';
import { nomadBlockTimes } from './parallel';
import { dimensionOf, type BenchProblem } from './problems';
import { markdownTable, median } from './report';
import { toTraceEvaluation, type RunTrace } from './traces';

export interface SolverRuns {
  label: string;
  /** Runs of one family at different q are compared with that family's q = 1. */
  family: string;
  q: number;
  runs: RunTrace[];
}

interface Solve {
  problemId: string;
  category: string;
  seed: number;
  dimension: number;
  /** Evaluations (1-based) and wall-clock rounds to pass the test; Infinity if never. */
  evaluations: number;
  rounds: number;
}

function timesOf(run: RunTrace): number[] {
  return run.times ?? nomadBlockTimes(run);
}

/** Per solver label, one Solve per (problem, seed) run. */
export function solveRecords(
  problems: readonly BenchProblem[],
  solvers: readonly SolverRuns[],
  tau: number,
): Map<string, Solve[]> {
  const out = new Map<string, Solve[]>(solvers.map((s) => [s.label, []]));
  for (const problem of problems) {
    const x0 = toTraceEvaluation(
      problem.outputTypes,
      evaluateBenchFunction(problem.function, problem.x0, problem.params),
    );
    const traces = new Map<string, { run: RunTrace; evaluations: ReturnType<typeof toTraceEvaluation>[] }[]>();
    for (const solver of solvers) {
      traces.set(
        solver.label,
        solver.runs
          .filter((r) => r.problemId === problem.id)
          .map((run) => ({ run, evaluations: run.outputs.map((o) => toTraceEvaluation(problem.outputTypes, o)) })),
      );
    }
    const profile: ProfileProblem = {
      id: problem.id,
      dimension: dimensionOf(problem),
      f0: x0.feasible ? x0.f : null,
      runs: Object.fromEntries([...traces].map(([label, list]) => [label, list.map((t) => t.evaluations)])),
    };
    const { threshold } = problemReference(profile, tau);
    for (const [label, list] of traces) {
      for (const { run, evaluations } of list) {
        const index = threshold === null ? -1 : bestFeasibleSoFar(evaluations).findIndex((v) => v <= threshold);
        out.get(label)?.push({
          problemId: problem.id,
          category: problem.category,
          seed: run.seed,
          dimension: dimensionOf(problem),
          evaluations: index < 0 ? Infinity : index + 1,
          rounds: index < 0 ? Infinity : timesOf(run)[index],
        });
      }
    }
  }
  return out;
}

function share(solves: readonly Solve[], budget: (s: Solve) => boolean): number {
  return solves.length === 0 ? NaN : solves.filter(budget).length / solves.length;
}

export function profileTable(
  solves: Map<string, Solve[]>,
  labels: readonly string[],
  alphas: readonly number[],
  unit: 'evaluations' | 'rounds',
): string {
  return markdownTable(
    [`budget (${unit})`, ...labels],
    alphas.map((alpha) => [
      `${alpha}·(n+1)`,
      ...labels.map((label) => share(solves.get(label) ?? [], (s) => s[unit] <= alpha * (s.dimension + 1)).toFixed(3)),
    ]),
  );
}

/** Share solved per problem family at a few budgets, evaluations and rounds. */
export function familyTable(
  solves: Map<string, Solve[]>,
  labels: readonly string[],
  alphas: readonly number[],
  unit: 'evaluations' | 'rounds',
): string {
  const families = [...new Set([...solves.values()].flat().map((s) => s.category))];
  const rows: string[][] = [];
  for (const family of families) {
    for (const alpha of alphas) {
      rows.push([
        family,
        `${alpha}·(n+1)`,
        ...labels.map((label) =>
          share(
            (solves.get(label) ?? []).filter((s) => s.category === family),
            (s) => s[unit] <= alpha * (s.dimension + 1),
          ).toFixed(2),
        ),
      ]);
    }
  }
  return markdownTable(['family', `budget (${unit})`, ...labels], rows, ['l', 'l', ...labels.map(() => 'r' as const)]);
}

/**
 * Rounds to pass the test with q in flight divided by the rounds the same family needed
 * sequentially, over the runs both solved: median and the ratio of the sums.
 */
export function roundsRatioTable(solves: Map<string, Solve[]>, solvers: readonly SolverRuns[]): string {
  const rows: string[][] = [];
  for (const solver of solvers) {
    if (solver.q === 1) continue;
    // A family without its own q = 1 (a variant that only changes the in-flight behaviour) is
    // compared with the first sequential run, as worstDrop's callers do.
    const sequential = solvers.find((s) => s.family === solver.family && s.q === 1) ?? solvers.find((s) => s.q === 1);
    if (sequential === undefined) continue;
    const base = new Map((solves.get(sequential.label) ?? []).map((s) => [`${s.problemId}/${s.seed}`, s]));
    const pairs = (solves.get(solver.label) ?? [])
      .map((s) => ({ q: s, one: base.get(`${s.problemId}/${s.seed}`) }))
      .filter((p) => p.one !== undefined && p.q.rounds < Infinity && p.one.rounds < Infinity) as {
      q: Solve;
      one: Solve;
    }[];
    const ratios = pairs.map((p) => p.q.rounds / p.one.rounds);
    const sum = (f: (p: { q: Solve; one: Solve }) => number): number => pairs.reduce((a, p) => a + f(p), 0);
    rows.push([
      solver.label,
      String(pairs.length),
      median(ratios).toFixed(2),
      (sum((p) => p.q.rounds) / sum((p) => p.one.rounds)).toFixed(2),
      (sum((p) => p.q.evaluations) / sum((p) => p.one.evaluations)).toFixed(2),
    ]);
  }
  return markdownTable(
    ['solver', 'runs solved by both', 'rounds ratio (median)', 'rounds ratio (sums)', 'evaluations ratio (sums)'],
    rows,
    ['l', 'r', 'r', 'r', 'r'],
  );
}

/**
 * Each run's evaluations to pass the test in simplex gradients (evaluations / (n+1); "-" when
 * never), one row per (problem, seed): which runs a solver loses against another, and at which
 * budget.
 */
export function perRunTable(solves: Map<string, Solve[]>, labels: readonly string[]): string {
  const first = solves.get(labels[0]) ?? [];
  const rows = first.map((run) => [
    `${run.problemId}/${run.seed}`,
    ...labels.map((label) => {
      const s = (solves.get(label) ?? []).find((o) => o.problemId === run.problemId && o.seed === run.seed);
      return s === undefined || s.evaluations === Infinity ? '-' : (s.evaluations / (s.dimension + 1)).toFixed(1);
    }),
  ]);
  return markdownTable(['run', ...labels], rows, ['l', ...labels.map(() => 'r' as const)]);
}

/** Largest drop of the per-evaluation profile from q = 1 over budgets ≥ minAlpha·(n+1). */
export function worstDrop(
  solves: Map<string, Solve[]>,
  label: string,
  sequentialLabel: string,
  alphas: readonly number[],
  minAlpha: number,
): number {
  let worst = -Infinity;
  for (const alpha of alphas.filter((a) => a >= minAlpha)) {
    const at = (l: string): number => share(solves.get(l) ?? [], (s) => s.evaluations <= alpha * (s.dimension + 1));
    worst = Math.max(worst, at(sequentialLabel) - at(label));
  }
  return worst;
}
