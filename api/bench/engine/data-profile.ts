/**
 * Data profiles of Moré & Wild, "Benchmarking derivative-free optimization algorithms",
 * SIAM J. Optim. 20(1), 2009 (§2.2 convergence test (2.2), data profile (2.6)).
 *
 * A run solves its problem after t evaluations when the best value it has found by then
 * satisfies f ≤ f_L + τ·(f(x0) − f_L), f_L being the best value any run of any solver found on
 * that problem. Every seed is its own instance, so a profile point is the share of
 * (problem, seed) runs solved within α simplex gradients, i.e. α·(n+1) evaluations.
 *
 * Constrained problems: only feasible evaluations count (a run is "not solved" until it has
 * found a feasible point), f_L is the best feasible value, and when X0 is infeasible f(x0) is
 * replaced by the worst first-feasible value over all runs on the problem.
 */

/** One blackbox evaluation as the profile sees it; failed evaluations have `f = NaN`. */
export interface TraceEvaluation {
  f: number;
  feasible: boolean;
}

export interface ProfileProblem {
  id: string;
  dimension: number;
  /** f(x0) when X0 is feasible, else null. */
  f0: number | null;
  /** Runs per solver (one per seed), each the evaluations in the order they were made. */
  runs: Readonly<Record<string, readonly (readonly TraceEvaluation[])[]>>;
}

export interface ProfileRow {
  /** Budget in simplex gradients (α). */
  simplexGradients: number;
  /** Share of (problem, run) instances solved within α·(n+1) evaluations, per solver. */
  shareSolved: Record<string, number>;
}

/** Best feasible value after each evaluation (Infinity until the first feasible one). */
export function bestFeasibleSoFar(trace: readonly TraceEvaluation[]): number[] {
  const best: number[] = [];
  let current = Infinity;
  for (const evaluation of trace) {
    if (evaluation.feasible && evaluation.f < current) current = evaluation.f;
    best.push(current);
  }
  return best;
}

function firstFeasibleValue(trace: readonly TraceEvaluation[]): number | null {
  for (const evaluation of trace) {
    if (evaluation.feasible && !Number.isNaN(evaluation.f)) return evaluation.f;
  }
  return null;
}

export interface ProblemReference {
  /** Best feasible value over every run of every solver, or null if none was feasible. */
  fBest: number | null;
  /** The f(x0) used by the test (see the module comment), or null if none was feasible. */
  f0: number | null;
  /** The value a run must reach: f_L + τ·(f0 − f_L); null when nothing is solvable. */
  threshold: number | null;
}

export function problemReference(problem: ProfileProblem, tau: number): ProblemReference {
  const traces = Object.values(problem.runs).flat();
  let fBest = Infinity;
  let worstFirstFeasible = -Infinity;
  for (const trace of traces) {
    const best = bestFeasibleSoFar(trace);
    if (best.length > 0) fBest = Math.min(fBest, best[best.length - 1]);
    const first = firstFeasibleValue(trace);
    if (first !== null) worstFirstFeasible = Math.max(worstFirstFeasible, first);
  }
  if (fBest === Infinity) return { fBest: null, f0: null, threshold: null };
  const f0 = problem.f0 ?? worstFirstFeasible;
  return { fBest, f0, threshold: fBest + tau * (f0 - fBest) };
}

/**
 * Evaluations each run needed to pass the convergence test (1-based; Infinity if never),
 * per solver in run order.
 */
export function evaluationsToSolve(problem: ProfileProblem, tau: number): Record<string, number[]> {
  const { threshold } = problemReference(problem, tau);
  const result: Record<string, number[]> = {};
  for (const [solver, traces] of Object.entries(problem.runs)) {
    result[solver] = traces.map((trace) => {
      if (threshold === null) return Infinity;
      const index = bestFeasibleSoFar(trace).findIndex((value) => value <= threshold);
      return index < 0 ? Infinity : index + 1;
    });
  }
  return result;
}

export function dataProfile(
  problems: readonly ProfileProblem[],
  solvers: readonly string[],
  tau: number,
  simplexGradients: readonly number[],
): ProfileRow[] {
  const solved = new Map<string, { dimension: number; evaluations: number }[]>(solvers.map((solver) => [solver, []]));
  for (const problem of problems) {
    const perSolver = evaluationsToSolve(problem, tau);
    for (const solver of solvers) {
      for (const evaluations of perSolver[solver] ?? []) {
        solved.get(solver)?.push({ dimension: problem.dimension, evaluations });
      }
    }
  }
  return simplexGradients.map((alpha) => {
    const shareSolved: Record<string, number> = {};
    for (const solver of solvers) {
      const instances = solved.get(solver) ?? [];
      const count = instances.filter((i) => i.evaluations <= alpha * (i.dimension + 1)).length;
      shareSolved[solver] = instances.length === 0 ? 0 : count / instances.length;
    }
    return { simplexGradients: alpha, shareSolved };
  });
}
