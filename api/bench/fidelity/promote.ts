/**
 * Stopping that can be undone (docs/benchmarks.md, "Stopping that can be undone"): a sequential
 * study over the same fixed sequence as studies.ts, in which a stopped trial is *paused* — its
 * checkpoint kept, as the runner keeps a stopped trial's adapter and stop-step checkpoint
 * (docs/runner.md, "Early stopping and GPU-seconds", "Checkpoints and resume") — and may later be
 * resumed for only its remaining steps plus a reload overhead (ASHA-style promotion).
 *
 * Because a wrong pause is a delay rather than a loss, the pause rule is more aggressive than the
 * default `curve` rule: only X0 runs to the end unconditionally; the others are paused by the curve
 * rule at a lower confidence and with fewer calibration trials, and, while that rule has nothing to
 * calibrate on, by being behind the incumbent's own curve at the same step. A paused trial is
 * resumed when the study stagnates (`stagnation` fresh trials in a row that did not improve the
 * incumbent) or when the sequence is used up, most promising first (lowest point extrapolation of
 * its observed curve), and only while the default rule, asked again with everything the study now
 * knows, would not stop it: a paused trial the default rule now rules out is stopped for good. A
 * resumed trial runs under the default rule (a second stop is final).
 *
 * The pause rule, the resume choice and the stagnation count are the service's own
 * (api/src/early-stopping/pause-and-resume.ts): this file only replays a study with them.
 *
 * The log is a list of segments in the order GPU-seconds were spent: a fresh trial's first segment,
 * then possibly a resumed segment of the same configuration later on. A segment that was paused and
 * later resumed has state 'paused'; one paused and never resumed is 'pruned' (a final stop).
 */
import {
  chooseResume,
  createCalibrationCache,
  decideEarlyStop,
  decidePause,
  nextStagnation,
  resumeDue,
  stoppedRun,
  type CalibrationCache,
  type CompletedCurve,
  type CurvePoint,
  type CurveStoppingPolicy,
  type PauseRule,
  type ResumeContext,
} from '../../src/early-stopping';
import type { StudySettings, TrialLog } from './studies';

export interface PromoteOptions extends PauseRule {
  /**
   * Decides final stops of resumed trials and which paused trials may still be resumed; null: every
   * paused trial stays eligible and a resumed trial runs to its end.
   */
  resumePolicy: CurveStoppingPolicy | null;
  /**
   * Resume the most promising paused trial after this many fresh trials in a row without improving
   * the incumbent (Infinity: never on the way).
   */
  stagnation: number;
  /**
   * Rule out for good, at each resume choice, the paused trials `resumePolicy` stops on the curve
   * they were paused with (the service's rule before 2026-12-05); false: a paused trial ends only
   * when it is resumed and `resumePolicy` stops it as it runs (pause-and-resume.ts, `chooseResume`).
   */
  ruleOut: boolean;
  /** When the sequence is used up, resume paused trials, most promising first, until the budget ends. */
  resumeWhenExhausted: boolean;
  /** Steps charged to every resume for loading the model and the checkpoint again. */
  resumeOverheadSteps: number;
}

/** What both benchmark loops keep of a paused trial (closed-loop.ts adds its point). */
export interface PausedEntry {
  points: CurvePoint[];
  /** Index of its last segment in the log (turned from 'pruned' to 'paused' when resumed). */
  logIndex: number;
  /** Its run as calibration evidence while paused (removed once it resumes). */
  run: CompletedCurve | null;
}

interface Paused extends PausedEntry {
  config: number;
}

/**
 * Asks `chooseResume` (the service's resume choice) about the paused trials and applies its answer
 * to a benchmark loop's lists: trials ruled out leave `paused` for good (they stay 'pruned' in the
 * log, marked given up now, and their runs stay calibration evidence); the chosen one leaves
 * `paused` and, as it runs again, `stopped` (its run is no longer a stop), and its log segment
 * becomes 'paused'. `ruleOutPolicy` null: nothing is ruled out (the service's rule since
 * 2026-12-05, pause-and-resume.ts). Null when none is left to resume.
 */
export function takeResumeChoice<Entry extends PausedEntry>(
  paused: Entry[],
  context: ResumeContext,
  ruleOutPolicy: CurveStoppingPolicy | null,
  totalSteps: number,
  stopped: CompletedCurve[],
  log: TrialLog[],
  cache: CalibrationCache,
): Entry | null {
  const choice = chooseResume(
    paused.map((entry) => ({ id: entry, points: entry.points, totalSteps })),
    context,
    ruleOutPolicy,
    cache,
  );
  for (const entry of choice.ruledOut) {
    paused.splice(paused.indexOf(entry), 1);
    log[entry.logIndex].givenUpAfter = log.length;
  }
  if (choice.resume === null) return null;
  const entry = choice.resume;
  paused.splice(paused.indexOf(entry), 1);
  if (entry.run !== null) stopped.splice(stopped.indexOf(entry.run), 1);
  log[entry.logIndex].state = 'paused';
  return entry;
}

export function runPromoteStudy(
  curves: readonly (readonly number[])[],
  sequence: readonly number[],
  options: PromoteOptions,
  settings: StudySettings,
): TrialLog[] {
  const { totalSteps, secondsPerStep, maxGpuSeconds } = settings;
  const cache = createCalibrationCache();
  const completed: CompletedCurve[] = [];
  /** Runs of stopped and paused trials, as calibration evidence (stoppedRun). */
  const stopped: CompletedCurve[] = [];
  const paused: Paused[] = [];
  const log: TrialLog[] = [];
  let incumbent: number | null = null;
  let incumbentCurve: readonly CurvePoint[] | null = null;
  let spent = 0;
  let withoutImprovement = 0;
  let budgetOut = false;

  const finish = (config: number, points: CurvePoint[]): boolean => {
    const finalValue = curves[config][totalSteps - 1];
    completed.push({ points, totalSteps, finalValue });
    const improved = incumbent === null || finalValue < incumbent;
    if (improved) {
      incumbent = finalValue;
      incumbentCurve = points;
    }
    return improved;
  };

  /** Runs `config` from `points.length` on; returns the state it ended in. */
  const run = (
    config: number,
    points: CurvePoint[],
    decide: (points: CurvePoint[]) => boolean,
  ): 'complete' | 'pruned' | 'cut' => {
    for (let step = points.length + 1; step <= totalSteps; step++) {
      if (spent >= maxGpuSeconds) return 'cut';
      spent += secondsPerStep;
      points.push({ step, value: curves[config][step - 1] });
      if (step === totalSteps) break;
      if (decide(points)) return 'pruned';
    }
    return 'complete';
  };

  const conservativeStop = (points: CurvePoint[]): boolean =>
    options.resumePolicy !== null &&
    decideEarlyStop(
      { curve: points, totalSteps, threshold: incumbent, protectedTrial: false, completed, stopped },
      options.resumePolicy,
      cache,
    ).stop;

  const pauseFresh = (points: CurvePoint[]): boolean =>
    decidePause(
      {
        curve: points,
        totalSteps,
        threshold: incumbent,
        protectedTrial: false,
        completed,
        stopped,
        incumbentCurve,
      },
      options,
      cache,
    ).stop;

  /** Resumes the most promising paused trial the default rule does not rule out; false if none. */
  const resumeOne = (): boolean => {
    const entry = takeResumeChoice(
      paused,
      { threshold: incumbent, completed, stopped },
      options.ruleOut ? options.resumePolicy : null,
      totalSteps,
      stopped,
      log,
      cache,
    );
    if (entry === null) return false;
    const from = entry.points.length;
    spent += options.resumeOverheadSteps * secondsPerStep;
    const state = run(entry.config, entry.points, conservativeStop);
    log.push({
      config: entry.config,
      steps: entry.points.length - from,
      state,
      resumed: true,
      overheadSteps: options.resumeOverheadSteps,
    });
    if (state === 'pruned') {
      const evidence = stoppedRun(entry.points);
      if (evidence !== null) stopped.push(evidence);
    } else if (state === 'complete') {
      withoutImprovement = nextStagnation(withoutImprovement, {
        resumed: true,
        improved: finish(entry.config, entry.points),
      });
    } else budgetOut = true;
    return true;
  };

  for (const config of sequence.slice(0, settings.maxTrials)) {
    if (spent >= maxGpuSeconds || budgetOut) break;
    const points: CurvePoint[] = [];
    const protectedTrial = log.length === 0;
    const state = run(config, points, (p) => !protectedTrial && incumbent !== null && pauseFresh(p));
    log.push({ config, steps: points.length, state });
    if (state === 'cut') {
      budgetOut = true;
      break;
    }
    if (state === 'pruned') {
      const evidence = stoppedRun(points);
      if (evidence !== null) stopped.push(evidence);
      paused.push({ config, points, logIndex: log.length - 1, run: evidence });
      withoutImprovement = nextStagnation(withoutImprovement, { resumed: false, improved: false });
    } else {
      withoutImprovement = nextStagnation(withoutImprovement, { resumed: false, improved: finish(config, points) });
    }
    if (resumeDue(withoutImprovement, { afterTrialsWithoutImprovement: options.stagnation })) {
      withoutImprovement = 0;
      resumeOne();
    }
  }
  // The sequence is used up (or the trial cap reached): resume what is left, most promising first.
  if (options.resumeWhenExhausted) while (!budgetOut && spent < maxGpuSeconds && resumeOne());
  // Still paused when the study ends: given up now.
  for (const entry of paused) log[entry.logIndex].givenUpAfter = log.length;
  return log;
}
