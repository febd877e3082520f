/**
 * The closed loop of `npm run bench:fidelity --closed-loop` (issue #17): the meshtune engine
 * chooses the points, as in the service, instead of replaying a fixed sequence (studies.ts,
 * promote.ts). MADS with its default options, created as the service creates it
 * (api/src/algorithms/algorithm-registry.ts, `createAlgorithm`), searches a problem's grid (one
 * integer variable per grid dimension, its level index; X0 the middle level of each) by ask/tell,
 * one trial at a time. Each asked point's tabulated curve is read step by step and the stopping
 * policy decides as the service does on a heartbeat (api/src/trials/trial-early-stopping.ts):
 *   - threshold: the engine's own `earlyStopThreshold()` (the feasible incumbent's f);
 *   - none / median / curve: `decideEarlyStop`, X0 and the trials numbered up to the policy's
 *     `nStartupTrials` / `calibrationTrials` protected;
 *   - curve with resume: a fresh trial is paused by `decidePause` with `pauseRuleOf(policy)` (only X0
 *     protected, the incumbent's curve known); a resumed one runs under the policy, its stop final.
 * A stopped or paused trial is told as a failed evaluation (outputs null), as EngineService
 * tells it, and counts against the budget; a resumed trial's end is told with `resumed: true` (its
 * final value, or null if stopped again) and counts nothing. Resumes follow EngineService
 * (`resumeIfDue`): before each ask, when the stagnation count is due or the engine has nothing left
 * to ask (budget spent or stopped), the most promising paused trial (`chooseResume`) runs on.
 * With `revive` the take-up rule is the service's too (`takeUpReason`, `reviveAllowed`): the most
 * promising stopped or paused trial also runs on at each restart of MADS on the minimum mesh not
 * yet answered, and, with a GPU budget left, once the engine has nothing left to ask.
 * GPU-seconds are steps run, plus `resumeOverheadSteps` per resume (the reload, as promote.ts).
 * A stop or pause is told with its decision's lower bound as `censoredBelow`, as EngineService tells
 * it; the engine uses it only with `censoredModels` (the `engineOptions` of the `_censored` rows).
 * `space` replaces the grid by another search space (the continuous family, curves.ts).
 */
import { createAlgorithm } from '../../src/algorithms/algorithm-registry';
import {
  createCalibrationCache,
  decideEarlyStop,
  decidePause,
  nextStagnation,
  pauseRuleOf,
  resumeDue,
  stoppedRun,
  type CompletedCurve,
  type CurvePoint,
  type CurveStoppingPolicy,
  type PauseRule,
  type StoppingPolicy,
  reviveAllowed,
  takeUpReason,
  type TakeUpReason,
} from '../../src/early-stopping';
import type { Mads, MadsOptions } from '../../src/mads';
import type { EvaluationResult, ProblemSpec } from '../../src/optimizer-contract/algorithm';
import { takeResumeChoice, type PausedEntry } from './promote';
import type { StudySettings, TrialLog } from './studies';

export interface ClosedLoopResume {
  /** The pause rule of fresh trials (the service's: `pauseRuleOf(policy)`). */
  pauseRule: PauseRule;
  /** Resume after this many told results in a row without improvement (Infinity: only when exhausted). */
  stagnation: number;
  /** Steps charged to every resume for loading the model and the checkpoint again. */
  resumeOverheadSteps: number;
  /**
   * Rule out for good, at each resume choice, the paused trials the policy stops on the curve they
   * were paused with (the service's rule before 2026-12-05); false: the service's rule since, a
   * paused trial ends only when it is resumed and the policy stops it as it runs.
   */
  ruleOut: boolean;
  /**
   * Bench option (not the service's rule): no pause before this many evaluations are told; until
   * then fresh trials run under the policy's final rule (0: the service's behaviour).
   */
  pauseAfterEvaluations: number;
}

export interface ClosedLoopOptions {
  policy: StoppingPolicy;
  /** Pause and resume (the curve policy's `resume`); null: stops are final. */
  resume: ClosedLoopResume | null;
  /**
   * The engine's evaluation budget (NOMAD's MAX_BB_EVAL): the fixed-sequence study's trial count;
   * null: none, the study ends when `settings.maxGpuSeconds` are spent (the trial running is cut,
   * or finishes with `finishRunningAtBudget`).
   */
  maxEvaluations: number | null;
  /** The engine's seed. */
  seed: number;
  /** Trials run at once (the service's maxParallelTrials); 1 when absent. */
  inFlight?: number;
  /**
   * At `settings.maxGpuSeconds`, the trials running run on to their end (or their stop) and are
   * told, and only new starts end: the service's `budget.maxGpuHours` (docs/algorithm.md, "Budgets:
   * evaluations and GPU-hours"). Absent or false: they are cut there (a hard wall of GPU-seconds).
   */
  finishRunningAtBudget?: boolean;
  /**
   * The curve policy's `revive` (the service's rule, early-stopping/pause-and-resume.ts
   * `takeUpReason`, `reviveAllowed`): at each restart of the engine on the minimum mesh not yet
   * answered, and once the engine has nothing left to ask in a study with a GPU budget left
   * (`finishRunningAtBudget`), the most promising stopped or paused trial (lowest extrapolation,
   * `chooseResume`) runs on under the policy from its last step, a second stop final; charged as a
   * resume (`resumeOverheadSteps`, 1 without `resume`).
   */
  revive?: boolean;
  /** Called with every result told to the engine, in order (the spec checks what it was told). */
  onTell?: (result: EvaluationResult) => void;
  /** MADS options besides the service's defaults (e.g. `censoredModels`). */
  engineOptions?: Partial<MadsOptions>;
  /** The search space; absent: the grid of `levels` (`gridProblem`, `configIndexOf`). */
  space?: ClosedLoopSpace;
}

/** A search space of the loop: the engine's problem, and the index in `curves` of an asked point's curve. */
export interface ClosedLoopSpace {
  problem(maxEvaluations: number | null, seed: number): ProblemSpec;
  configOf(x: readonly number[]): number;
}

/** What a decision told the loop: stop (or pause) now, and its lower bound on the final value. */
interface Verdict {
  stop: boolean;
  lowerBound: number | null;
}

/** What happened in the loop, for tracing why a system lost quality (docs/benchmarks.md). */
export interface ClosedLoopTrace {
  /** Evaluations the engine counted (fresh trials told). */
  evaluations: number;
  /** Fresh trials stopped or paused (told as failed evaluations). */
  toldFailed: number;
  paused: number;
  resumed: number;
  /** Resumed trials that completed and improved the engine's incumbent when told. */
  resumedImproved: number;
  /** Of `resumed` and `resumedImproved`: those told while the engine could still ask (in time to steer the search). */
  resumedInTime: number;
  resumedImprovedInTime: number;
  /** The engine's frame size (first variable, in levels) when each resumed result was told, and at the end (the mesh of a grid of integer levels is 1 throughout). */
  frameAtResume: number[];
  finalFrame: number;
  stopReason: string | null;
  /** The engine's restarts on the minimum mesh (`Mads.restartCount`). */
  restarts: number;
}

/** Mixed-radix configuration index of a point of level indices (first variable most significant). */
export function configIndexOf(levels: readonly number[], x: readonly number[]): number {
  let index = 0;
  for (let d = 0; d < levels.length; d++) index = index * levels[d] + x[d];
  return index;
}

/** The engine's problem for a grid: integer level indices, X0 at the middle level of each. */
export function gridProblem(levels: readonly number[], maxEvaluations: number | null, seed: number): ProblemSpec {
  return {
    variables: levels.map((size) => ({
      type: 'I' as const,
      lowerBound: 0,
      upperBound: size - 1,
      granularity: 0,
      fixedValue: null,
    })),
    outputTypes: ['OBJ'],
    x0: [levels.map((size) => Math.floor((size - 1) / 2))],
    maxEvaluations,
    seed,
  };
}

/** A trial being run: fresh (`fresh` set) or the continuation of a paused one. */
interface Running {
  x: number[];
  config: number;
  points: CurvePoint[];
  /** Steps it had when (re)started: a resumed entry logs only the steps after its pause. */
  from: number;
  decide: (points: CurvePoint[]) => Verdict;
  fresh: { pausing: boolean } | null;
  /** A resumed trial started while the engine could still ask. */
  resumedInTime: boolean;
  overheadSteps: number;
}

interface Paused extends PausedEntry {
  x: number[];
  config: number;
}

export function runClosedLoopStudy(
  levels: readonly number[],
  curves: readonly (readonly number[])[],
  options: ClosedLoopOptions,
  settings: StudySettings,
): { log: TrialLog[]; trace: ClosedLoopTrace } {
  const { totalSteps, secondsPerStep, maxGpuSeconds } = settings;
  const { policy, resume } = options;
  if (resume !== null && policy.kind !== 'curve') throw new Error('resume needs the curve policy');
  const space: ClosedLoopSpace = options.space ?? {
    problem: (maxEvaluations, seed) => gridProblem(levels, maxEvaluations, seed),
    configOf: (x) => configIndexOf(levels, x),
  };
  const engine = createAlgorithm(
    'mads',
    space.problem(options.maxEvaluations, options.seed),
    options.engineOptions ?? {},
  ) as Mads;
  const cache = createCalibrationCache();
  const completed: CompletedCurve[] = [];
  const stopped: CompletedCurve[] = [];
  const paused: Paused[] = [];
  /** Final-stopped trials never taken up again, revivable with `revive`. */
  const revivable: Paused[] = [];
  const log: TrialLog[] = [];
  const trace: ClosedLoopTrace = {
    evaluations: 0,
    toldFailed: 0,
    paused: 0,
    resumed: 0,
    resumedImproved: 0,
    resumedInTime: 0,
    resumedImprovedInTime: 0,
    frameAtResume: [],
    finalFrame: 0,
    stopReason: null,
    restarts: 0,
  };
  let incumbent: number | null = null;
  let incumbentCurve: CurvePoint[] | null = null;
  let spent = 0;
  let stagnation = 0;
  let trialNumber = 0;
  const inFlight = options.inFlight ?? 1;

  const protectedCount =
    policy.kind === 'curve'
      ? resume !== null
        ? 0
        : policy.calibrationTrials
      : policy.kind === 'median'
        ? policy.nStartupTrials
        : 0;

  const finalStop = (points: CurvePoint[], protectedTrial: boolean): Verdict =>
    policy.kind === 'none'
      ? { stop: false, lowerBound: null }
      : decideEarlyStop(
          { curve: points, totalSteps, threshold: engine.earlyStopThreshold(), protectedTrial, completed, stopped },
          policy,
          cache,
        );

  /** The calibration evidence the last stopped or paused trial told added (null: none). */
  let lastEvidence: CompletedCurve | null = null;
  /** Tells a finished trial; returns whether it improved the incumbent. */
  const tell = (
    x: number[],
    config: number,
    points: CurvePoint[],
    complete: boolean,
    resumed: boolean,
    lowerBound: number | null,
  ): boolean => {
    const finalValue = curves[config][totalSteps - 1];
    const result: EvaluationResult = {
      x,
      outputs: complete ? [finalValue] : null,
      ...(resumed ? { resumed: true } : {}),
      ...(!complete && lowerBound !== null && Number.isFinite(lowerBound) ? { censoredBelow: lowerBound } : {}),
    };
    engine.tell([result]);
    options.onTell?.(result);
    let improved = false;
    if (complete) {
      completed.push({ points, totalSteps, finalValue });
      improved = incumbent === null || finalValue < incumbent;
      if (improved) {
        incumbent = finalValue;
        incumbentCurve = points;
      }
    } else {
      lastEvidence = stoppedRun(points);
      if (lastEvidence !== null) stopped.push(lastEvidence);
    }
    stagnation = nextStagnation(stagnation, { resumed, improved });
    return improved;
  };

  /** Trials running now (at most `inFlight`), each advanced one step per round, in start order. */
  const running: Running[] = [];
  let freshInFlight = 0;

  /**
   * EngineService.resumeIfDue: true when a paused (or, with `revive`, stopped) trial was started
   * again for `reason`; the most promising of those allowed (`reviveAllowed`).
   */
  const startTakeUp = (reason: TakeUpReason): boolean => {
    if (reason === 'stagnation') stagnation = 0;
    const candidates: Paused[] = [
      ...(resume !== null ? paused : []),
      ...(options.revive === true &&
      reviveAllowed(reason, {
        gpuBudgetLeft: options.finishRunningAtBudget === true,
        evaluationsLeft:
          options.maxEvaluations === null ? 0 : Math.max(0, options.maxEvaluations - engine.evaluationCount),
        takenUp: trace.resumed,
        restarts: engine.restartCount,
      })
        ? revivable
        : []),
    ];
    const allowed = new Set(candidates);
    const entry = takeResumeChoice(
      candidates,
      { threshold: engine.earlyStopThreshold(), completed, stopped },
      resume?.ruleOut === true ? (policy as CurveStoppingPolicy) : null,
      totalSteps,
      stopped,
      log,
      cache,
    );
    // Ruled-out entries (the `_ruleout` rows) and the one chosen leave their own list too.
    const kept = new Set(candidates);
    for (const list of [paused, revivable]) {
      for (let i = list.length - 1; i >= 0; i--) if (allowed.has(list[i]) && !kept.has(list[i])) list.splice(i, 1);
    }
    if (entry === null) return false;
    runOn(entry, resume?.resumeOverheadSteps ?? 1, reason !== 'exhausted');
    return true;
  };

  /** A paused or stopped trial taken up again from its last step, after `overheadSteps` of reloading. */
  const runOn = (entry: Paused, overheadSteps: number, resumedInTime: boolean): void => {
    trace.resumed++;
    spent += overheadSteps * secondsPerStep;
    running.push({
      x: entry.x,
      config: entry.config,
      points: entry.points,
      from: entry.points.length,
      decide: (points) => finalStop(points, false),
      fresh: null,
      resumedInTime,
      overheadSteps,
    });
  };

  const startFresh = (): boolean => {
    const suggestion = engine.ask(1)[0];
    if (suggestion === undefined) return false;
    trialNumber++;
    const isX0 = suggestion.origin === 'x0';
    const pausing = resume !== null && engine.evaluationCount >= resume.pauseAfterEvaluations;
    const protectedTrial = isX0 || trialNumber <= protectedCount;
    freshInFlight++;
    running.push({
      x: suggestion.x,
      config: space.configOf(suggestion.x),
      points: [],
      from: 0,
      decide: (p) =>
        pausing
          ? decidePause(
              {
                curve: p,
                totalSteps,
                threshold: engine.earlyStopThreshold(),
                protectedTrial: isX0,
                completed,
                stopped,
                incumbentCurve,
              },
              resume.pauseRule,
              cache,
            )
          : finalStop(p, protectedTrial),
      fresh: { pausing },
      resumedInTime: false,
      overheadSteps: 0,
    });
    return true;
  };

  const finish = (trial: Running, state: 'complete' | 'pruned' | 'cut', lowerBound: number | null = null): void => {
    running.splice(running.indexOf(trial), 1);
    log.push({
      config: trial.config,
      steps: trial.points.length - trial.from,
      state,
      ...(trial.fresh === null ? { resumed: true, overheadSteps: trial.overheadSteps } : {}),
      // Sequential logs are in the order GPU-seconds were spent; with trials in flight, the study's
      // spending when this one ended (the others' partial runs included) is recorded instead.
      ...(inFlight > 1 ? { spentAtEnd: spent } : {}),
    });
    if (state === 'cut') return;
    if (trial.fresh !== null) {
      freshInFlight--;
      if (state === 'pruned') {
        trace.toldFailed++;
        if (trial.fresh.pausing) trace.paused++;
      }
      tell(trial.x, trial.config, trial.points, state === 'complete', false, lowerBound);
      // A paused trial keeps the evidence object `tell` stored, so that a resume removes exactly it.
      if (state === 'pruned' && !trial.fresh.pausing && options.revive === true) {
        revivable.push({
          x: trial.x,
          config: trial.config,
          points: trial.points,
          logIndex: log.length - 1,
          run: lastEvidence,
        });
      }
      if (state === 'pruned' && trial.fresh.pausing) {
        paused.push({
          x: trial.x,
          config: trial.config,
          points: trial.points,
          logIndex: log.length - 1,
          run: lastEvidence,
        });
      }
      return;
    }
    trace.frameAtResume.push(engine.frameSize()[0]);
    const improved = tell(trial.x, trial.config, trial.points, state === 'complete', true, lowerBound);
    if (improved) trace.resumedImproved++;
    if (trial.resumedInTime) {
      trace.resumedInTime++;
      if (improved) trace.resumedImprovedInTime++;
    }
  };

  rounds: for (;;) {
    // Free slots: a due resume first (EngineService.askAndLease), else a new point while the
    // evaluation budget has room for it (told + in flight, as the service's capacity).
    while (running.length < inFlight && spent < maxGpuSeconds) {
      const exhausted =
        (options.maxEvaluations !== null && engine.evaluationCount >= options.maxEvaluations) ||
        engine.stopReason !== null;
      const reason = takeUpReason({
        stagnationDue: resume !== null && resumeDue(stagnation, { afterTrialsWithoutImprovement: resume.stagnation }),
        restarts: engine.restartCount,
        takenUp: trace.resumed,
        onRestart: options.revive === true,
        exhausted,
      });
      if (reason !== null && startTakeUp(reason)) continue;
      if (exhausted) break;
      if (options.maxEvaluations !== null && engine.evaluationCount + freshInFlight >= options.maxEvaluations) break;
      if (!startFresh()) break;
    }
    if (running.length === 0) break;
    // One step of every running trial; a trial's curve is decided after every step but the last.
    for (const trial of [...running]) {
      if (spent >= maxGpuSeconds && options.finishRunningAtBudget !== true) {
        for (const cut of [...running]) finish(cut, 'cut');
        break rounds;
      }
      spent += secondsPerStep;
      const step = trial.points.length + 1;
      trial.points.push({ step, value: curves[trial.config][step - 1] });
      if (step === totalSteps) finish(trial, 'complete');
      else {
        const verdict = trial.decide(trial.points);
        if (verdict.stop) finish(trial, 'pruned', verdict.lowerBound);
      }
    }
  }
  // Still paused when the study ends: given up now.
  for (const entry of paused) log[entry.logIndex].givenUpAfter = log.length;
  trace.evaluations = engine.evaluationCount;
  trace.finalFrame = engine.frameSize()[0];
  trace.stopReason = engine.stopReason?.kind ?? null;
  trace.restarts = engine.restartCount;
  return { log, trace };
}

/**
 * The evaluation budget of a study budgeted in GPU-seconds, as the service needs one
 * (`budget.maxEvaluations` is required; docs/algorithm.md, "Budgets: evaluations and GPU-hours"):
 * one the GPU budget always reaches first — every told trial ran at least one step, and at most
 * `inFlight` trials run on past the budget. MADS restarts on the minimum mesh only while
 * evaluations are left (`restartOnMinMesh`, api/src/mads/restart.ts `tryRestart`), so without
 * one (null) a GPU-budget study ends on the mesh with budget unspent.
 */
export function gpuBudgetEvaluations(settings: StudySettings, inFlight: number): number {
  return Math.floor(settings.maxGpuSeconds / settings.secondsPerStep) + inFlight;
}

/** The service's resume settings for a curve policy (`resume: {}`), as promote.ts's PROMOTE. */
export function serviceResume(policy: CurveStoppingPolicy, stagnation: number): ClosedLoopResume {
  return {
    pauseRule: pauseRuleOf(policy),
    stagnation,
    resumeOverheadSteps: 1,
    pauseAfterEvaluations: 0,
    ruleOut: false,
  };
}
