/**
 * Pure computations over trials, shared by the charts and tables (and unit-tested in Node, so
 * no DOM and no imports beyond types).
 */
import type { OutputDefinition, Study, Trial } from './types';

export type Goal = 'minimize' | 'maximize';

export interface Evaluation {
  /** 1-based, in the order results arrived (NOMAD's evaluation number). */
  evaluation: number;
  trial: Trial;
  /** The objective; null for a failed evaluation (NOMAD's EVAL_FAILED, +∞). */
  value: number | null;
  feasible: boolean;
}

export function objectiveOf(study: Pick<Study, 'outputs'>): OutputDefinition & { goal: Goal } {
  const objective = study.outputs.find((output) => output.type === 'objective');
  if (objective === undefined) throw new Error('the study has no objective output');
  return { ...objective, goal: objective.goal ?? 'minimize' };
}

/**
 * The intermediate metric shown first: the one the study is judged on — its objective's name
 * (`val_loss` in BBO3), else the training metric its `trainingConfig.metric` names — when a
 * trial has reported it; otherwise the first by name. Sorting alone showed `learning_rate`.
 */
export function defaultMetric(study: Pick<Study, 'outputs' | 'trainingConfig'>, names: readonly string[]): string {
  const metric = (study.trainingConfig as { metric?: unknown } | null | undefined)?.metric;
  for (const name of [objectiveOf(study).name, typeof metric === 'string' ? metric : null]) {
    if (name !== null && names.includes(name)) return name;
  }
  return names[0] ?? '';
}

/**
 * The API's `feasible` (NOMAD's rule, stored when the result is told: a constraint up to 1e-13
 * is satisfied); for a trial not told yet, every constraint (PB / EB output) ≤ 0.
 */
export function isFeasible(study: Pick<Study, 'outputs'>, trial: Pick<Trial, 'outputs' | 'feasible'>): boolean {
  if (typeof trial.feasible === 'boolean') return trial.feasible;
  if (trial.outputs === null) return false;
  const outputs = trial.outputs;
  return study.outputs
    .filter((output) => output.type === 'constraint_pb' || output.type === 'constraint_eb')
    .every((constraint) => {
      const value = outputs[constraint.name];
      return value !== undefined && value <= 0;
    });
}

/** True when `a` is strictly better than `b` for the goal. */
export function isBetter(goal: Goal, a: number, b: number): boolean {
  return goal === 'maximize' ? a > b : a < b;
}

function finishOrder(a: Trial, b: Trial): number {
  const byTime = (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '');
  return byTime !== 0 ? byTime : a.number - b.number;
}

/** Completed and failed trials (the blackbox evaluations), in the order they finished. */
export function evaluations(study: Pick<Study, 'outputs'>, trials: readonly Trial[]): Evaluation[] {
  const objective = objectiveOf(study);
  return trials
    .filter((trial) => trial.status === 'completed' || trial.status === 'failed')
    .sort(finishOrder)
    .map((trial, index) => {
      const value = trial.status === 'completed' ? trial.outputs?.[objective.name] : undefined;
      return {
        evaluation: index + 1,
        trial,
        value: value === undefined || !Number.isFinite(value) ? null : value,
        feasible: trial.status === 'completed' && isFeasible(study, trial),
      };
    });
}

/** [evaluation, best feasible objective so far] at every evaluation since the first feasible one. */
export function bestSoFar(goal: Goal, points: readonly Evaluation[]): [number, number][] {
  const line: [number, number][] = [];
  let best: number | null = null;
  for (const point of points) {
    if (point.feasible && point.value !== null && (best === null || isBetter(goal, point.value, best)))
      best = point.value;
    if (best !== null) line.push([point.evaluation, best]);
  }
  return line;
}

/** The best feasible completed trial, as the dashboard computes it when the API's /best is unavailable. */
export function bestTrial(study: Pick<Study, 'outputs'>, trials: readonly Trial[]): Trial | null {
  const [first] = bestFraction(study, trials, 0);
  return first?.feasible === true ? first.trial : null;
}

/** The objective of the first evaluated X0 trial: the reference line on the convergence plot. */
export function x0Value(study: Pick<Study, 'outputs'>, trials: readonly Trial[]): number | null {
  const x0 = evaluations(study, trials).find((point) => point.trial.origin === 'x0' && point.value !== null);
  return x0?.value ?? null;
}

/**
 * The best `fraction` (0–1] of the completed trials with an objective, best first (feasible before
 * infeasible, then by objective): the parallel plot's filter, as the seed's parallel_plot.py did.
 */
export function bestFraction(study: Pick<Study, 'outputs'>, trials: readonly Trial[], fraction: number): Evaluation[] {
  const goal = objectiveOf(study).goal;
  const ranked = evaluations(study, trials)
    .filter((point) => point.value !== null)
    .sort((a, b) => {
      if (a.feasible !== b.feasible) return a.feasible ? -1 : 1;
      const [x, y] = [a.value as number, b.value as number];
      return x === y ? 0 : isBetter(goal, x, y) ? -1 : 1;
    });
  const count = ranked.length === 0 ? 0 : Math.max(1, Math.ceil(ranked.length * Math.min(1, Math.max(0, fraction))));
  return ranked.slice(0, count);
}

/** Milliseconds from start to finish (to `now` while running); null before it starts. */
export function durationMs(trial: Pick<Trial, 'startedAt' | 'finishedAt'>, now: number): number | null {
  if (trial.startedAt === null) return null;
  const end = trial.finishedAt === null ? now : Date.parse(trial.finishedAt);
  return Math.max(0, end - Date.parse(trial.startedAt));
}

/** Orders table cells: numbers numerically, missing values last, the rest as text. */
export function compareCells(a: number | string | null | undefined, b: number | string | null | undefined): number {
  const aMissing = a === null || a === undefined;
  const bMissing = b === null || b === undefined;
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}
