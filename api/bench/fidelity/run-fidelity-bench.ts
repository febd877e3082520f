/**
 * `npm run bench:fidelity`: what early stopping saves, side by side with Optuna's pruners, on the
 * same tabulated learning curves (docs/benchmarks.md, "Early stopping (bench:fidelity)").
 *
 * Two families of problems, each reported in its own tables: simulated curves (curves.ts) and real
 * curves of LoRA runs of the tiny Llama (llama-curves.ts, tabulated once by tabulate_llama.py).
 * For every problem and seed: tabulate every configuration's curve (or shuffle the real ones); run meshtune's
 * sequential search over a fixed sequence with the policies none / median / curve (studies.ts);
 * write the curves to a JSON file and run Optuna (optuna_pruners.py, venv by api/bench/ensure-venv.sh)
 * with the replayed sequence and with TPE, each with its Nop / Median / SuccessiveHalving / Hyperband
 * pruners; compute the same figures for all (metrics.ts). It prints figures only.
 *
 * With --closed-loop, meshtune's rows are the closed loop instead (closed-loop.ts): MADS chooses
 * the points, with a budget of as many evaluations as the fixed-sequence study has trials, and the
 * reference of every ratio is meshtune_mads_none (fixed-sequence systems then run only when named
 * in --systems).
 *
 * Usage: node dist-bench/api/bench/fidelity/run-fidelity-bench.js [--seeds N] [--seed-offset K]
 *        [--trials N] [--steps T] [--real-trials N] [--problems id,id] [--systems name,name] [--no-real] [--no-optuna] [--keep]
 *        [--closed-loop [--closed-loop-budget evaluations|gpu] [--closed-loop-in-flight Q]]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import {
  DEFAULT_CURVE_POLICY,
  DEFAULT_MEDIAN_POLICY,
  DEFAULT_RESUME_OPTIONS,
  pauseRuleOf,
  type StoppingPolicy,
} from '../../src/early-stopping';
import {
  continuousCurves,
  curveProblems,
  tabulate,
  type ContinuousCurves,
  type CurveProblem,
  type TabulatedCurves,
} from './curves';
import type { ProblemSpec } from '../../src/optimizer-contract/algorithm';
import {
  loadRealCurveTable,
  realCurveProblems,
  realCurveSteps,
  tabulateReal,
  type RealCurveTable,
} from './llama-curves';
import { median, studyFigures, type StudyFigures } from './metrics';
import {
  gpuBudgetEvaluations,
  runClosedLoopStudy,
  serviceResume,
  type ClosedLoopOptions,
  type ClosedLoopTrace,
} from './closed-loop';
import { runPromoteStudy, type PromoteOptions } from './promote';
import { runSequentialStudy, type StudySettings, type TrialLog } from './studies';

const REPO = resolve(__dirname, '../../../..');

/** Targets: the full-length study's best final value plus ε of the gap to its median final value. */
const EPSILONS = [0.05, 0];
const SECONDS_PER_STEP = 1;

interface Options {
  seeds: number;
  /** Benchmark seeds are seedOffset + 1 .. seedOffset + seeds (to check on seeds nothing was tuned on). */
  seedOffset: number;
  trials: number;
  steps: number;
  /** Full-length study of the real-curve family, in trials (its grid has 48 configurations). */
  realTrials: number;
  problems: string[] | null;
  /** meshtune systems to run (the reference meshtune_none always runs); null: all. */
  systems: string[] | null;
  real: boolean;
  optuna: boolean;
  keep: boolean;
  /** meshtune's rows are the closed loop (MADS choosing the points); the reference is meshtune_mads_none. */
  closedLoop: boolean;
  /**
   * The closed loop's budget: 'evaluations' (as many as the full-length study has trials) or 'gpu'
   * (no evaluation budget: the study ends at the GPU-seconds budget, as the fixed-sequence rows do;
   * the reference meshtune_mads_none keeps the evaluation budget).
   */
  closedLoopBudget: 'evaluations' | 'gpu';
  /** Closed-loop trials run at once (every meshtune_mads_* row, the reference included). */
  closedLoopInFlight: number;
  /** Closed loop only: add the continuous family (curves.ts, `continuousCurves`; meshtune_mads_* rows only). */
  continuous: boolean;
  /**
   * The GPU-s budget of every study in multiples of the full-length study's GPU-s (default 2, so
   * that a system slower than the reference still gets a figure; 0.5 or 1 make it bind). The
   * closed-loop reference keeps at least the full-length study, which its evaluation budget spends;
   * "best at equal GPU-s" is read at min(multiple, 1) × the full-length study.
   */
  budgetMultiple: number;
  /** Print, per closed-loop study that misses the ε = 0 target, what became of the configurations that reach it. */
  traceMisses: boolean;
  /**
   * --closed-loop-budget gpu: the engine gets no evaluation budget at all (true; the bench before
   * 2026-12-05 06:00, which the service cannot do: `budget.maxEvaluations` is required) instead of
   * one the GPU-s budget always reaches first (false, the default).
   */
  noEvaluationBound: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string, fallback: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
  };
  const problems = value('--problems', '');
  return {
    seeds: Number(value('--seeds', '10')),
    seedOffset: Number(value('--seed-offset', '0')),
    trials: Number(value('--trials', '40')),
    steps: Number(value('--steps', '40')),
    realTrials: Number(value('--real-trials', '24')),
    problems: problems === '' ? null : problems.split(','),
    systems: value('--systems', '') === '' ? null : value('--systems', '').split(','),
    real: !argv.includes('--no-real'),
    optuna: !argv.includes('--no-optuna'),
    keep: argv.includes('--keep'),
    closedLoop: argv.includes('--closed-loop'),
    closedLoopBudget: value('--closed-loop-budget', 'evaluations') === 'gpu' ? 'gpu' : 'evaluations',
    closedLoopInFlight: Number(value('--closed-loop-in-flight', '1')),
    continuous: argv.includes('--continuous'),
    budgetMultiple: Number(value('--budget-multiple', '2')),
    traceMisses: argv.includes('--trace-misses'),
    noEvaluationBound: argv.includes('--no-evaluation-bound'),
  };
}

const RUNGS = [0.1, 0.2, 0.35, 0.5, 0.75] as const;
const SHAPE_AND_RUNG_SYSTEMS: readonly { name: string; policy: StoppingPolicy }[] = [
  { name: 'meshtune_shape_max', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'max' } },
  { name: 'meshtune_shape_replace', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'replace_drop' } },
  { name: 'meshtune_shape_alone', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'alone' } },
  { name: 'meshtune_shape_min', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'min' } },
  { name: 'meshtune_shape_min_k2', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'min', calibrationTrials: 2 } },
  { name: 'meshtune_rungs', policy: { ...DEFAULT_CURVE_POLICY, rungs: RUNGS } },
  { name: 'meshtune_rungs_c0.80', policy: { ...DEFAULT_CURVE_POLICY, rungs: RUNGS, confidence: 0.8 } },
  {
    name: 'meshtune_shape_max_rungs_c0.80',
    policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'max', rungs: RUNGS, confidence: 0.8 },
  },
  // Two calibration trials: with three, no rule reaches 0.5× on simulated seeds 6–10 (docs/benchmarks.md).
  { name: 'meshtune_shape_max_k2', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'max', calibrationTrials: 2 } },
  { name: 'meshtune_shape_alone_k2', policy: { ...DEFAULT_CURVE_POLICY, shapePrior: 'alone', calibrationTrials: 2 } },
  ...[0.8, 0.7, 0.6].map((confidence) => ({
    name: `meshtune_rungs_c${confidence.toFixed(2)}_k2`,
    policy: { ...DEFAULT_CURVE_POLICY, rungs: RUNGS, confidence, calibrationTrials: 2 },
  })),
];

const MESHTUNE_SYSTEMS: readonly { name: string; policy: StoppingPolicy }[] = [
  { name: 'meshtune_none', policy: { kind: 'none' } },
  { name: 'meshtune_median', policy: { ...DEFAULT_MEDIAN_POLICY } },
  { name: 'meshtune_curve_c0.90', policy: { ...DEFAULT_CURVE_POLICY, confidence: 0.9 } },
  { name: 'meshtune_curve_c0.95', policy: { ...DEFAULT_CURVE_POLICY } },
  { name: 'meshtune_curve_c0.99', policy: { ...DEFAULT_CURVE_POLICY, confidence: 0.99 } },
  // The pairwise crossing bound (stopping-decision.ts, crossingBound), opt-in: only with --systems.
  { name: 'meshtune_cross_or', policy: { ...DEFAULT_CURVE_POLICY, pairwise: 'or' } },
  { name: 'meshtune_cross_and', policy: { ...DEFAULT_CURVE_POLICY, pairwise: 'and' } },
  { name: 'meshtune_cross_alone', policy: { ...DEFAULT_CURVE_POLICY, pairwise: 'alone' } },
  { name: 'meshtune_cross_alone_c0.90', policy: { ...DEFAULT_CURVE_POLICY, pairwise: 'alone', confidence: 0.9 } },
  // The learned curve-shape prior (shape-prior.ts) and rung-wise decisions, opt-in: only with --systems.
  ...SHAPE_AND_RUNG_SYSTEMS,
];
const OPT_IN_SYSTEMS = new Set([
  'meshtune_cross_or',
  'meshtune_cross_and',
  'meshtune_cross_alone',
  'meshtune_cross_alone_c0.90',
  ...SHAPE_AND_RUNG_SYSTEMS.map((system) => system.name),
]);

/**
 * Stopping that can be undone (promote.ts, docs/benchmarks.md "Stopping that can be undone"),
 * opt-in only; `meshtune_curve_promote` is the rule the service ships (`resume` on the curve policy). Pause: the curve rule at its default confidence once X0 has completed (stopped and
 * paused runs calibrate it), or a value not below the incumbent's at the same step from a tenth of
 * the run on; only X0 is protected. Resume: after 5 fresh trials in a row without improvement and
 * when the sequence is used up, the paused trial with the lowest extrapolation first, unless the
 * default rule now rules it out; a resumed trial runs under the default rule. Every resume costs
 * its remaining steps plus one step for loading the model and the checkpoint again.
 */
const PROMOTE: PromoteOptions = {
  // The service's own settings for a default curve policy with `resume` on (pause-and-resume.ts):
  // the pause policy with 1 calibration curve, the behind-the-incumbent test from minProgress (0.1).
  ...pauseRuleOf(DEFAULT_CURVE_POLICY),
  resumePolicy: { ...DEFAULT_CURVE_POLICY },
  ruleOut: false,
  stagnation: DEFAULT_RESUME_OPTIONS.afterTrialsWithoutImprovement,
  resumeWhenExhausted: true,
  resumeOverheadSteps: 1,
};
const PROMOTE_SYSTEMS: readonly { name: string; options: PromoteOptions }[] = [
  { name: 'meshtune_curve_promote', options: PROMOTE },
  // The rule before 2026-12-05: paused trials the default rule stops on their paused curve are ruled out at each resume choice.
  { name: 'meshtune_curve_promote_ruleout', options: { ...PROMOTE, ruleOut: true } },
  // The same pauses, never resumed: what the resumption itself is worth.
  { name: 'meshtune_curve_promote_never', options: { ...PROMOTE, stagnation: Infinity, resumeWhenExhausted: false } },
  // Every paused trial stays eligible and a resumed trial runs to its end (no default-rule filter).
  { name: 'meshtune_curve_promote_free', options: { ...PROMOTE, resumePolicy: null } },
  // A dearer resume: 3 steps of reload instead of 1.
  { name: 'meshtune_curve_promote_o3', options: { ...PROMOTE, resumeOverheadSteps: 3 } },
  // Neighbours of the stagnation count (5): 3 and 8.
  { name: 'meshtune_curve_promote_s3', options: { ...PROMOTE, stagnation: 3 } },
  { name: 'meshtune_curve_promote_s8', options: { ...PROMOTE, stagnation: 8 } },
];

/**
 * The closed loop (closed-loop.ts): MADS chooses the points; the policies as the service runs them.
 * `meshtune_mads_curve_resume` is the service's `resume: {}` (DEFAULT_RESUME_OPTIONS); the rows after
 * it are remedies tried as bench options, opt-in only (--systems).
 */
type ClosedLoopSystem = Omit<ClosedLoopOptions, 'maxEvaluations' | 'seed'> & {
  /** No pause before this share of the full-length study's trial count is told (remedy rows). */
  pauseFromShare?: number;
  /** Added to the engine's seed: MADS's own run-to-run spread, for reading the other rows. */
  seedOffset?: number;
};
const SERVICE_RESUME = serviceResume(DEFAULT_CURVE_POLICY, DEFAULT_RESUME_OPTIONS.afterTrialsWithoutImprovement);
const CLOSED_LOOP_SYSTEMS: readonly { name: string; system: ClosedLoopSystem; optIn?: true }[] = [
  { name: 'meshtune_mads_none', system: { policy: { kind: 'none' }, resume: null } },
  { name: 'meshtune_mads_median', system: { policy: { ...DEFAULT_MEDIAN_POLICY }, resume: null } },
  { name: 'meshtune_mads_curve', system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: null } },
  { name: 'meshtune_mads_curve_resume', system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: SERVICE_RESUME } },
  // The service's rule before 2026-12-05 (opt-in): a paused trial the policy stops on the curve it
  // was paused with is ruled out for good at a resume choice.
  {
    name: 'meshtune_mads_curve_resume_ruleout',
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: { ...SERVICE_RESUME, ruleOut: true } },
    optIn: true,
  },
  // The behind-the-incumbent pause only when the gap exceeds 1.96 × the two observations' noise (opt-in).
  {
    name: 'meshtune_mads_curve_resume_behindnoise',
    system: {
      policy: { ...DEFAULT_CURVE_POLICY },
      resume: {
        ...SERVICE_RESUME,
        pauseRule: { ...SERVICE_RESUME.pauseRule, behindIncumbent: { from: 0.1, always: true, noiseZ: 1.96 } },
      },
    },
    optIn: true,
  },
  // MADS without stopping from another engine seed (opt-in): how often the search's own spread alone
  // misses the reference's target.
  {
    name: 'meshtune_mads_none_reseeded',
    system: { policy: { kind: 'none' }, resume: null, seedOffset: 1000 },
    optIn: true,
  },
  // Remedies (opt-in). Resume sooner: after 2 / 3 told results without improvement instead of 5.
  ...[2, 3].map((stagnation) => ({
    name: `meshtune_mads_curve_resume_s${stagnation}`,
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: { ...SERVICE_RESUME, stagnation } },
    optIn: true as const,
  })),
  // Fewer pauses early: the final rule only until a quarter / half of the budget is told.
  ...[0.25, 0.5].map((share) => ({
    name: `meshtune_mads_curve_resume_from${share * 100}`,
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: SERVICE_RESUME, pauseFromShare: share },
    optIn: true as const,
  })),
  // A looser pause rule: the behind-the-incumbent test from 30 % of the run instead of 10 %, or never.
  {
    name: 'meshtune_mads_curve_resume_behind30',
    system: {
      policy: { ...DEFAULT_CURVE_POLICY },
      resume: {
        ...SERVICE_RESUME,
        pauseRule: { ...SERVICE_RESUME.pauseRule, behindIncumbent: { from: 0.3, always: true } },
      },
    },
    optIn: true,
  },
  // The models take stops as censored observations (docs/algorithm.md, "Early stopping: what the
  // models learn from a stop"): the same rules, MADS with `censoredModels`.
  {
    name: 'meshtune_mads_curve_censored',
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: null, engineOptions: { censoredModels: true } },
    optIn: true,
  },
  {
    name: 'meshtune_mads_curve_resume_censored',
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: SERVICE_RESUME, engineOptions: { censoredModels: true } },
    optIn: true,
  },
  // The curve policy's `revive` (the service's rule, pause-and-resume.ts `takeUpReason`): at each
  // restart on the minimum mesh, and at the engine's end while a GPU budget is left, the most
  // promising stopped (and, with resume, paused) trial runs on from its last step (opt-in).
  {
    name: 'meshtune_mads_curve_revive',
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: null, revive: true },
    optIn: true,
  },
  // With resume every fresh trial's stop is a pause, so `revive` adds one thing: a restart on the
  // minimum mesh counts as "nothing left to ask" for one resume.
  {
    name: 'meshtune_mads_curve_resume_revive',
    system: { policy: { ...DEFAULT_CURVE_POLICY }, resume: SERVICE_RESUME, revive: true },
    optIn: true,
  },
  {
    name: 'meshtune_mads_curve_resume_nobehind',
    system: {
      policy: { ...DEFAULT_CURVE_POLICY },
      resume: { ...SERVICE_RESUME, pauseRule: { ...SERVICE_RESUME.pauseRule, behindIncumbent: null } },
    },
    optIn: true,
  },
];
const CLOSED_LOOP_REFERENCE = 'meshtune_mads_none';

type Family = 'simulated' | 'real' | 'continuous';

/** One (problem, seed): its tabulated curves and the study settings that go with them. */
interface Instance {
  family: Family;
  problem: string;
  seed: number;
  levels: number[];
  tab: TabulatedCurves | ContinuousCurves;
  settings: StudySettings;
  /** GPU-seconds of the full-length study (the reference, meshtune_none). */
  fullStudyGpu: number;
}

interface StudyRun {
  problem: string;
  seed: number;
  system: string;
  trials: TrialLog[];
  seconds: number;
  /** Closed-loop runs only: what the engine was told. */
  trace?: ClosedLoopTrace;
}

function runOptuna(file: string): { version: string; studies: StudyRun[] } {
  const python = execFileSync(
    'bash',
    [join(REPO, 'api/bench/ensure-venv.sh'), join(REPO, 'api/bench/fidelity/requirements.txt'), 'bench-fidelity-venv'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  const out = execFileSync(python, [join(REPO, 'api/bench/fidelity/optuna_pruners.py'), file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 30,
  });
  const parsed = JSON.parse(out) as { optuna: string; studies: StudyRun[] };
  return { version: parsed.optuna, studies: parsed.studies };
}

/** The run without stopping of the same sampler: meshtune's sequence, Optuna's replay of it, or TPE. */
function ownReference(system: string): string {
  return system.startsWith('meshtune_mads')
    ? CLOSED_LOOP_REFERENCE
    : system.startsWith('optuna_tpe')
      ? 'optuna_tpe_none'
      : system.startsWith('optuna_replay')
        ? 'optuna_replay_none'
        : 'meshtune_none';
}

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? '∞' : 'n/a');

/**
 * Settings for curves of `steps` points and a full-length study of `trials` trials; at most
 * `maxTrials` trials per study (the grid's size for the real curves, so that Optuna's replay stops
 * where meshtune's sequence ends instead of going on with random draws).
 */
function studySettings(
  trials: number,
  steps: number,
  maxTrials: number,
  budgetMultiple: number,
): { settings: StudySettings; fullStudyGpu: number } {
  const fullStudyGpu = trials * steps * SECONDS_PER_STEP;
  // By default twice the full-length study's cost, so a system slower than it still gets a figure.
  return {
    settings: {
      totalSteps: steps,
      secondsPerStep: SECONDS_PER_STEP,
      maxGpuSeconds: budgetMultiple * fullStudyGpu,
      maxTrials,
    },
    fullStudyGpu,
  };
}

/** The continuous family's problem: every variable real over the grid's box, X0 at its centre. */
function continuousProblem(problem: CurveProblem, maxEvaluations: number | null, seed: number): ProblemSpec {
  return {
    variables: problem.levels.map(() => ({
      type: 'R' as const,
      lowerBound: problem.lower,
      upperBound: problem.upper,
      granularity: 0,
      fixedValue: null,
    })),
    outputTypes: ['OBJ'],
    x0: [problem.levels.map(() => (problem.lower + problem.upper) / 2)],
    maxEvaluations,
    seed,
  };
}

function instancesOf(options: Options): { instances: Instance[]; realTable: RealCurveTable | null } {
  const seeds = Array.from({ length: options.seeds }, (_, i) => options.seedOffset + i + 1);
  const wanted = (id: string) => options.problems === null || options.problems.includes(id);
  const instances: Instance[] = [];
  const simulated = studySettings(options.trials, options.steps, 400, options.budgetMultiple);
  for (const problem of curveProblems.filter((p) => wanted(p.id))) {
    for (const seed of seeds) {
      instances.push({
        family: 'simulated',
        problem: problem.id,
        seed,
        levels: problem.levels,
        tab: tabulate(problem, seed, options.steps),
        ...simulated,
      });
    }
  }
  if (options.closedLoop && options.continuous) {
    for (const problem of curveProblems.filter((p) => wanted(`${p.id}_cont`))) {
      for (const seed of seeds) {
        instances.push({
          family: 'continuous',
          problem: `${problem.id}_cont`,
          seed,
          levels: problem.levels,
          tab: continuousCurves(problem, seed, options.steps),
          ...simulated,
        });
      }
    }
  }
  if (!options.real) return { instances, realTable: null };
  const realTable = loadRealCurveTable();
  const real = studySettings(
    options.realTrials,
    realCurveSteps(realTable),
    realTable.configs.length,
    options.budgetMultiple,
  );
  for (const problem of realCurveProblems(realTable).filter((p) => wanted(p.id))) {
    for (const seed of seeds) {
      instances.push({
        family: 'real',
        problem: problem.id,
        seed,
        levels: problem.levels,
        tab: tabulateReal(realTable, problem, seed),
        ...real,
      });
    }
  }
  return { instances, realTable };
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const { instances, realTable } = instancesOf(options);
  const runs: StudyRun[] = [];
  const named = (name: string) =>
    options.systems !== null &&
    options.systems.some((w) => name === w || (w.endsWith('*') && name.startsWith(w.slice(0, -1))));
  const referenceSystem = options.closedLoop ? CLOSED_LOOP_REFERENCE : 'meshtune_none';
  for (const instance of instances) {
    if (options.closedLoop) {
      for (const { name, system, optIn } of CLOSED_LOOP_SYSTEMS) {
        if (name !== CLOSED_LOOP_REFERENCE && (optIn === true || options.systems !== null) && !named(name)) continue;
        const t0 = performance.now();
        const fullTrials = instance.fullStudyGpu / (instance.settings.totalSteps * SECONDS_PER_STEP);
        // A GPU-budget study as the service runs it: `budget.maxEvaluations` is required, and a
        // study budgeted in GPU-hours gives one it cannot reach first (docs/algorithm.md, "Budgets:
        // evaluations and GPU-hours"): every told trial ran at least one step, and the trials
        // running at the budget finish. With evaluations left, MADS restarts on the minimum mesh
        // (`restartOnMinMesh`) instead of ending the study with GPU budget unspent.
        const maxEvaluations =
          options.closedLoopBudget === 'gpu' && name !== CLOSED_LOOP_REFERENCE
            ? options.noEvaluationBound
              ? null
              : gpuBudgetEvaluations(instance.settings, options.closedLoopInFlight)
            : fullTrials;
        const { pauseFromShare, seedOffset, ...loop } = system;
        const tab = instance.tab;
        const problem = curveProblems.find((p) => `${p.id}_cont` === instance.problem);
        const { log, trace } = runClosedLoopStudy(
          instance.levels,
          instance.tab.curves,
          {
            ...loop,
            resume:
              loop.resume === null
                ? null
                : { ...loop.resume, pauseAfterEvaluations: Math.round((pauseFromShare ?? 0) * fullTrials) },
            maxEvaluations,
            // As the service's GPU-hour budget: the trials running at the budget finish and count.
            finishRunningAtBudget: options.closedLoopBudget === 'gpu',
            seed: instance.seed + (seedOffset ?? 0),
            inFlight: options.closedLoopInFlight,
            ...('configOf' in tab && problem !== undefined
              ? { space: { problem: (max, seed) => continuousProblem(problem, max, seed), configOf: tab.configOf } }
              : {}),
          },
          // The reference is the full-length study whatever the budget multiple.
          name === CLOSED_LOOP_REFERENCE
            ? {
                ...instance.settings,
                maxGpuSeconds: Math.max(instance.settings.maxGpuSeconds, instance.fullStudyGpu),
              }
            : instance.settings,
        );
        runs.push({
          problem: instance.problem,
          seed: instance.seed,
          system: name,
          trials: log,
          seconds: (performance.now() - t0) / 1000,
          trace,
        });
      }
    }
    // The continuous family has no fixed sequence and no Optuna side: closed-loop rows only.
    for (const { name, policy } of instance.family === 'continuous' ? [] : MESHTUNE_SYSTEMS) {
      if (options.closedLoop && !named(name)) continue;
      if (options.systems !== null && name !== 'meshtune_none' && !options.systems.includes(name)) continue;
      if (options.systems === null && OPT_IN_SYSTEMS.has(name)) continue;
      const t0 = performance.now();
      // The full-length reference study is the first `trials` configurations of the sequence.
      const settings =
        name === 'meshtune_none' ? { ...instance.settings, maxGpuSeconds: instance.fullStudyGpu } : instance.settings;
      const trials = runSequentialStudy(instance.tab.curves, instance.tab.sequence, policy, settings);
      runs.push({
        problem: instance.problem,
        seed: instance.seed,
        system: name,
        trials,
        seconds: (performance.now() - t0) / 1000,
      });
    }
    for (const { name, options: promote } of instance.family === 'continuous' ? [] : PROMOTE_SYSTEMS) {
      if (!named(name)) continue;
      const t0 = performance.now();
      const trials = runPromoteStudy(instance.tab.curves, instance.tab.sequence, promote, instance.settings);
      runs.push({
        problem: instance.problem,
        seed: instance.seed,
        system: name,
        trials,
        seconds: (performance.now() - t0) / 1000,
      });
    }
    process.stderr.write(`bench:fidelity: ${instance.problem} seed ${instance.seed}: meshtune done\n`);
  }

  let optunaVersion = 'not run';
  if (options.optuna) {
    const work = mkdtempSync(join(os.tmpdir(), 'meshtune-bench-fidelity-'));
    const file = join(work, 'curves.json');
    const problemIds = [...new Set(instances.filter((i) => i.family !== 'continuous').map((i) => i.problem))];
    writeFileSync(
      file,
      JSON.stringify({
        settings: { samplers: ['replay', 'tpe'], pruners: ['none', 'median', 'successive_halving', 'hyperband'] },
        problems: problemIds.map((id) => {
          const ofProblem = instances.filter((i) => i.problem === id);
          return {
            id,
            levels: ofProblem[0].levels,
            settings: ofProblem[0].settings,
            seeds: ofProblem.map((i) => ({ seed: i.seed, sequence: i.tab.sequence, curves: i.tab.curves })),
          };
        }),
      }),
    );
    process.stderr.write(`bench:fidelity: curves in ${file}; running Optuna\n`);
    const optuna = runOptuna(file);
    optunaVersion = optuna.version;
    runs.push(...optuna.studies);
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }

  const lines: string[] = [`## bench:fidelity`, ''];
  const seedText =
    options.seedOffset === 0
      ? `seeds 1..${options.seeds}`
      : `seeds ${options.seedOffset + 1}..${options.seedOffset + options.seeds}`;
  lines.push(
    `Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; ${seedText}; ${SECONDS_PER_STEP} GPU-second per step; ` +
      `Optuna ${optunaVersion}; Node ${process.version}; ${os.cpus().length} cores.`,
  );
  lines.push('');
  lines.push(
    (options.closedLoop
      ? (options.closedLoopBudget === 'gpu'
          ? `Closed loop: meshtune_mads_* rows are MADS choosing the points (closed-loop.ts) with no evaluation budget, until the GPU-s budget is spent, the trials running then finishing as in the service's budget.maxGpuHours (meshtune_mads_none: as many evaluations as the full-length study has trials). `
          : `Closed loop: meshtune_mads_* rows are MADS choosing the points (closed-loop.ts), a budget of as many evaluations as the full-length study has trials. `) +
        (options.closedLoopInFlight > 1
          ? `${options.closedLoopInFlight} trials in flight (GPU-s to target: the study's spending when the trial ended, the others' partial runs included). `
          : '') +
        `Ratios are GPU-seconds to reach the target over those of meshtune_mads_none (MADS without stopping), median over studies; `
      : `Ratios are GPU-seconds to reach the target over those of meshtune_none (the same sequence without stopping), median over studies; `) +
      `target ε = the reference's best final value + ε × (its median final value − its best). ` +
      `"best at equal GPU-s" is (best final value found within min(the budget, the full-length study's GPU-s) − the reference's best) / that spread, median (lower is better, < 0 beats the reference).`,
  );
  for (const family of ['simulated', 'continuous', 'real'] as const) {
    const ofFamily = instances.filter((i) => i.family === family);
    if (ofFamily.length === 0) continue;
    const first = ofFamily[0];
    lines.push('');
    lines.push(
      family === 'simulated'
        ? `### Simulated curves (curves.ts): ${first.settings.totalSteps} steps per full trial, full-length study ${first.fullStudyGpu / (first.settings.totalSteps * SECONDS_PER_STEP)} trials (${first.fullStudyGpu} GPU-s), budget ${first.settings.maxGpuSeconds} GPU-s`
        : family === 'continuous'
          ? `### Simulated curves on continuous variables (curves.ts, continuousCurves): ${first.settings.totalSteps} steps per full trial, full-length study ${first.fullStudyGpu / (first.settings.totalSteps * SECONDS_PER_STEP)} trials (${first.fullStudyGpu} GPU-s), budget ${first.settings.maxGpuSeconds} GPU-s`
          : `### Real curves (llama-curves.json, ${realTable!.configs.length} LoRA configurations of the tiny Llama, made ${realTable!.made.date}): ${first.settings.totalSteps} evaluations per full trial (1 step = 1 evaluation interval), full-length study ${first.fullStudyGpu / (first.settings.totalSteps * SECONDS_PER_STEP)} trials (${first.fullStudyGpu} GPU-s), budget ${first.settings.maxGpuSeconds} GPU-s`,
    );
    lines.push('');
    lines.push(...report(ofFamily, runs, family !== 'real', referenceSystem, options.traceMisses));
  }
  if (realTable !== null && instances.some((i) => i.family === 'real')) lines.push('', ...trainingNoise(realTable));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Run-to-run noise of the real curves: how much two training seeds of a configuration disagree. */
function trainingNoise(table: RealCurveTable): string[] {
  const seeds = Object.keys(table.curves);
  if (seeds.length < 2) return [];
  const [a, b] = seeds.map((s) => table.curves[s].map((curve) => curve[curve.length - 1]));
  const gaps = a.map((v, i) => Math.abs(v - b[i]));
  const spread = median(a) - Math.min(...a);
  let swaps = 0;
  let pairs = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      pairs++;
      if ((a[i] - a[j]) * (b[i] - b[j]) < 0) swaps++;
    }
  }
  return [
    `Real curves, training seeds ${seeds.join(' vs ')}: final validation loss differs by ${fmt(median(gaps), 4)} (median over configurations; max ${fmt(Math.max(...gaps), 4)}), ` +
      `${fmt(median(gaps) / spread, 3)} of the spread (median − best) of seed ${seeds[0]}'s final values; ${swaps} of ${pairs} pairs of configurations swap order.`,
  ];
}

interface SystemRow {
  ratios: number[][];
  /** GPU-s to target ε=0.05 over the same sampler's run without stopping. */
  ownRatios: number[];
  gpu: number[][];
  reached: number[];
  bestGap: number[];
  stopped: number;
  falseStops: number;
  hiddenSuccesses: number;
  hiddenNeverDelivered: number;
  trials: number;
  seconds: number;
}

/**
 * One closed-loop study that missed the ε = 0 target: its spending against its budget, the
 * engine's stop, and what became of every configuration that reaches the target (never asked,
 * stopped or paused after k steps, resumed…): whether the target was lost to a stop the engine
 * never revisits, or never found.
 */
function missLine(
  run: StudyRun,
  curves: readonly (readonly number[])[],
  steps: number,
  target: number,
  budget: number,
): string {
  const spent = run.trials.reduce((total, t) => total + t.steps + (t.overheadSteps ?? 0), 0) * SECONDS_PER_STEP;
  const good = new Set(curves.flatMap((curve, config) => (curve[steps - 1] <= target ? [config] : [])));
  const fates = run.trials.flatMap((t, index) =>
    good.has(t.config)
      ? [
          `#${index} c${t.config} ${t.resumed === true ? 'resumed ' : ''}${t.state}@${t.steps}${t.givenUpAfter !== undefined ? ' given-up' : ''}`,
        ]
      : [],
  );
  const trace = run.trace!;
  return (
    `- ${run.system} ${run.problem} seed ${run.seed}: spent ${spent}/${budget} GPU-s, ${run.trials.length} entries, ` +
    `${trace.evaluations} evaluations, stop ${trace.stopReason ?? 'none'}, frame ${trace.finalFrame}; ` +
    `${good.size} target configs: ${fates.length > 0 ? fates.join(', ') : 'never asked'}`
  );
}

/** The two tables of one family: figures per system, then per problem (and late-drop curves). */
function report(
  instances: readonly Instance[],
  allRuns: readonly StudyRun[],
  lateDropColumns: boolean,
  referenceSystem: string,
  traceMisses = false,
): string[] {
  const missLines: string[] = [];
  const problemIdSet = new Set(instances.map((i) => i.problem));
  const runs = allRuns.filter((r) => problemIdSet.has(r.problem));
  const systems = [...new Set(runs.map((r) => r.system))];
  const rows = new Map<string, SystemRow>();
  for (const system of systems) {
    rows.set(system, {
      ratios: EPSILONS.map(() => []),
      ownRatios: [],
      gpu: EPSILONS.map(() => []),
      reached: EPSILONS.map(() => 0),
      bestGap: [],
      stopped: 0,
      falseStops: 0,
      hiddenSuccesses: 0,
      hiddenNeverDelivered: 0,
      trials: 0,
      seconds: 0,
    });
  }
  // Per problem: the ε = 0 ratios; per system: stops and false stops among late-drop curves (the
  // shape no extrapolation models), so that a figure good on average cannot hide either.
  const problemRatios = new Map<string, number[]>();
  const lateDrop = new Map<string, { stopped: number; falseStops: number }>();
  let studies = 0;
  let medianAgreement = 0;
  let medianCompared = 0;
  for (const { problem, seed, tab, settings, fullStudyGpu } of instances) {
    const steps = settings.totalSteps;
    const forStudy = runs.filter((r) => r.problem === problem && r.seed === seed);
    const reference = forStudy.find((r) => r.system === referenceSystem)!;
    const finals = reference.trials.filter((t) => t.state === 'complete').map((t) => tab.curves[t.config][steps - 1]);
    const best = Math.min(...finals);
    const spread = median(finals) - best;
    const targets = EPSILONS.map((eps) => best + eps * spread);
    const figuresOf = (run: StudyRun): StudyFigures =>
      studyFigures(
        run.trials,
        tab.curves,
        steps,
        SECONDS_PER_STEP,
        targets,
        Math.min(settings.maxGpuSeconds, fullStudyGpu),
      );
    const referenceFigures = figuresOf(reference);
    studies++;
    for (const run of forStudy) {
      const figures = figuresOf(run);
      const row = rows.get(run.system)!;
      const own = forStudy.find((r) => r.system === ownReference(run.system));
      if (own !== undefined) {
        row.ownRatios.push((figures.gpuToTarget[0] ?? Infinity) / (figuresOf(own).gpuToTarget[0] ?? Infinity));
      }
      EPSILONS.forEach((_, i) => {
        const gpu = figures.gpuToTarget[i] ?? Infinity;
        row.gpu[i].push(gpu);
        row.ratios[i].push(gpu / referenceFigures.gpuToTarget[i]!);
        if (figures.gpuToTarget[i] !== null) row.reached[i]++;
      });
      // Best final value at the full study's GPU-seconds, in units of the reference's spread.
      row.bestGap.push((figures.bestAtEqualGpu - best) / spread);
      if (traceMisses && run.trace !== undefined && figures.gpuToTarget[1] === null) {
        missLines.push(missLine(run, tab.curves, steps, best, settings.maxGpuSeconds));
      }
      const ratio0 = (figures.gpuToTarget[1] ?? Infinity) / referenceFigures.gpuToTarget[1]!;
      const perProblem = `${run.system}\u0000${problem}`;
      problemRatios.set(perProblem, [...(problemRatios.get(perProblem) ?? []), ratio0]);
      const late = lateDrop.get(run.system) ?? { stopped: 0, falseStops: 0 };
      late.stopped += run.trials.filter((t) => t.state === 'pruned' && tab.shapes[t.config] === 'late_drop').length;
      late.falseStops += figures.falseStopEntries.filter(
        (index) => tab.shapes[run.trials[index].config] === 'late_drop',
      ).length;
      lateDrop.set(run.system, late);
      row.hiddenSuccesses += figures.hiddenSuccesses;
      row.hiddenNeverDelivered += figures.hiddenNeverDelivered;
      row.stopped += figures.stopped;
      row.falseStops += figures.falseStops;
      row.trials += figures.trials;
      row.seconds += run.seconds;
    }
    const ours = forStudy.find((r) => r.system === 'meshtune_median');
    const theirs = forStudy.find((r) => r.system === 'optuna_replay_median');
    if (ours !== undefined && theirs !== undefined) {
      medianCompared++;
      const n = Math.min(ours.trials.length, theirs.trials.length);
      const same = ours.trials
        .slice(0, n)
        .every((t, i) => t.steps === theirs.trials[i].steps && t.state === theirs.trials[i].state);
      if (same) medianAgreement++;
    }
  }

  const lines: string[] = [];
  lines.push(
    '| system | GPU-s ratio to target ε=0.05 | vs own sampler without stopping | reached | GPU-s ratio to target ε=0 | reached | best at equal GPU-s | trials | stopped | false stops | solver s |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const system of systems) {
    const row = rows.get(system)!;
    const falseRate =
      row.stopped > 0 ? `${row.falseStops} (${((100 * row.falseStops) / row.stopped).toFixed(1)} %)` : '0';
    lines.push(
      `| ${system} | ${fmt(median(row.ratios[0]), 2)} | ${fmt(median(row.ownRatios), 2)} | ${row.reached[0]}/${studies} | ${fmt(median(row.ratios[1]), 2)} | ${row.reached[1]}/${studies} | ` +
        `${fmt(median(row.bestGap), 3)} | ${row.trials} | ${row.stopped} | ${falseRate} | ${row.seconds.toFixed(1)} |`,
    );
  }
  lines.push('');
  const problemIds = [...problemIdSet];
  lines.push(
    lateDropColumns
      ? `Per problem: GPU-s ratio to target ε=0, median over its seeds; late-drop curves: stopped, of which false stops.`
      : `Per problem: GPU-s ratio to target ε=0, median over its seeds.`,
  );
  lines.push('');
  const lateHeader = lateDropColumns ? ' late-drop stopped | late-drop false stops |' : '';
  lines.push(`| system | ${problemIds.join(' | ')} |${lateHeader}`);
  lines.push(`| --- | ${problemIds.map(() => '---:').join(' | ')} |${lateDropColumns ? ' ---: | ---: |' : ''}`);
  for (const system of systems) {
    const late = lateDrop.get(system) ?? { stopped: 0, falseStops: 0 };
    const cells = problemIds.map((id) => fmt(median(problemRatios.get(`${system}\u0000${id}`) ?? []), 2));
    const lateRate =
      late.stopped > 0 ? `${late.falseStops} (${((100 * late.falseStops) / late.stopped).toFixed(1)} %)` : '0';
    lines.push(`| ${system} | ${cells.join(' | ')} |${lateDropColumns ? ` ${late.stopped} | ${lateRate} |` : ''}`);
  }
  const resumeLines = systems.flatMap((system) => {
    const entries = runs.filter((r) => r.system === system).flatMap((r) => r.trials);
    const resumed = entries.filter((t) => t.resumed === true);
    if (resumed.length === 0) return [];
    const gpu = resumed.reduce((sum, t) => sum + (t.steps + (t.overheadSteps ?? 0)) * SECONDS_PER_STEP, 0);
    const total = entries.reduce((sum, t) => sum + (t.steps + (t.overheadSteps ?? 0)) * SECONDS_PER_STEP, 0);
    const count = (state: string) => resumed.filter((t) => t.state === state).length;
    const row = rows.get(system)!;
    const givenUp = entries.filter((t) => t.givenUpAfter !== undefined).length;
    return [
      `| ${system} | ${entries.filter((t) => t.state === 'paused').length} | ${count('complete')} | ${count('pruned')} | ${count('cut')} | ${givenUp} | ${gpu} (${((100 * gpu) / total).toFixed(1)} %) | ${row.hiddenSuccesses} (${row.hiddenNeverDelivered}) |`,
    ];
  });
  if (resumeLines.length > 0) {
    lines.push('');
    lines.push(
      `Resumed trials (all studies; a resumed trial's later part counts as a trial of its own in "trials" above): paused and resumed, then completed / stopped for good / cut by the budget; paused and never resumed (ruled out, or paused when the study ended: "given up", a false stop when its full run would have beaten the incumbent then); GPU-s of the resumed parts with their reload overhead (share of all GPU-s spent); ` +
        `pauses whose full run would have beaten the incumbent at the pause (successes told as failures then; in brackets: never completed in the study).`,
    );
    lines.push('');
    lines.push(
      '| system | resumed | completed | stopped for good | cut | given up | GPU-s resumed | successes paused (never delivered) |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    lines.push(...resumeLines);
  }
  const traceLines = systems.flatMap((system) => {
    const traces = runs.filter((r) => r.system === system && r.trace !== undefined).map((r) => r.trace!);
    if (traces.length === 0) return [];
    const sum = (pick: (t: ClosedLoopTrace) => number) => traces.reduce((total, t) => total + pick(t), 0);
    const meshes = traces.flatMap((t) => t.frameAtResume);
    const stops = [...new Set(traces.map((t) => t.stopReason ?? 'none'))].join(', ');
    return [
      `| ${system} | ${sum((t) => t.evaluations)} | ${sum((t) => t.toldFailed)} | ${sum((t) => t.paused)} | ${sum((t) => t.resumed)} (${sum((t) => t.resumedInTime)}) | ` +
        `${sum((t) => t.resumedImproved)} (${sum((t) => t.resumedImprovedInTime)}) | ${meshes.length > 0 ? fmt(median(meshes), 1) : 'n/a'} | ${stops} |`,
    ];
  });
  if (traceLines.length > 0) {
    lines.push('');
    lines.push(
      `Closed loop, what the engine was told (all studies): evaluations counted; fresh trials told as failed (stopped or paused); paused; resumed; resumed trials whose told value improved the incumbent (in brackets: of them, those told while the engine could still ask, i.e. before its budget was spent); ` +
        `median frame size (first variable, in levels; the mesh of these integer grids is 1 throughout) when a resumed result was told; the engine's stop reasons.`,
    );
    lines.push('');
    lines.push('| system | evaluations | told failed | paused | resumed | resumed improved | frame at resume | stop |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    lines.push(...traceLines);
  }
  if (missLines.length > 0) {
    lines.push('', 'Closed-loop studies that miss the ε = 0 target (--trace-misses):', '', ...missLines);
  }
  if (medianCompared > 0) {
    lines.push('');
    lines.push(
      `Check: meshtune_median and optuna_replay_median (same sequence, Optuna MedianPruner) took identical decisions in ${medianAgreement}/${medianCompared} studies.`,
    );
  }
  return lines;
}

main();
