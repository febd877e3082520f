import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  createCalibrationCache,
  decideEarlyStop,
  decidePause,
  MAX_CALIBRATION_WINDOW,
  pauseRuleOf,
  resumeScore,
  storedCurve,
  type CalibrationCache,
  type CompletedCurve,
  type CurvePoint,
  type StopDecision,
  type StoppingPolicy,
  stoppedRun,
} from '../early-stopping';
import type { AlgorithmName } from '../optimizer-contract/algorithm';
import { EngineService } from '../engine/engine.service';
import { StudiesService } from '../studies/studies.service';
import * as trialStore from './store/trial-store';
import type { TrialOrigin } from './trial-status';

// Moved to early-stopping/stored-curve.ts (shared with the resume choice); re-exported for their users.
export { MAX_FITTED_CURVE_POINTS, thinCurve } from '../early-stopping';

/** Studies whose curves and threshold this process keeps (least recently used dropped first). */
const MAX_STUDIES = 256;
/** The median policy compares with every completed trial (Optuna); this process keeps the latest this many. */
const MEDIAN_WINDOW = 1000;
/**
 * Calibration curves (completed, and stopped) the curve policy uses at most: the window a policy
 * may ask for (MAX_CALIBRATION_WINDOW, checked at creation), also for policies stored before that
 * check, when up to 10,000 was accepted.
 */
export const MAX_CALIBRATION_CURVES = MAX_CALIBRATION_WINDOW;
/**
 * Points of completed curves the median policy keeps per study (oldest curves dropped first beyond
 * it): at 16 bytes a point, 32 MB. Without it, 1,000 curves of 10,000 points held 610 MB of objects
 * per study, for each of up to MAX_STUDIES studies (docs/reliability.md, finding 10).
 */
export const MAX_MEDIAN_POINTS = 2_000_000;

/** What the heartbeat statement returns about the trial and its study (read in the same statement). */
export interface HeartbeatTrial {
  trialId: string;
  runnerId: string;
  studyId: string;
  attempt: number;
  number: number;
  origin: TrialOrigin;
  /** The study's engine_version and evaluation_count: the threshold and the completed curves change only with them. */
  engineVersion: number;
  evaluationCount: number;
  /** Times the trial was resumed after a pause: a resumed trial's stop is final. */
  resumes: number;
}

/** The decision of a heartbeat; `pause`: a stop that can be undone (the trial becomes `paused`). */
/**
 * `resumeScore`: a pause's rank among the study's paused trials (pause-and-resume.ts,
 * `resumeScore`), computed here from the curve the pause was decided on and stored with the pause,
 * so that a resume does not fit every paused curve again; null for anything but a pause.
 */
export type EarlyStopDecision = StopDecision & { pause: boolean; resumeScore: number | null };

/** A study's settings that never change after creation, read once. */
interface StudySettings {
  policy: StoppingPolicy;
  algorithm: AlgorithmName;
  /** The metric of the heartbeats that is the objective's curve: the objective output's name. */
  metric: string;
  /** 1, or −1 for a maximised objective: curves are compared minimised, as the engine's f. */
  sign: number;
  hasPb: boolean;
}

interface StudyMemo {
  settings: StudySettings;
  /** Completed (not stopped) trials' curves, oldest first, at most the policy's window. */
  completed: CompletedCurve[];
  /** The median policy's completed curves (`completed` stays empty): steps and values only, at most MAX_MEDIAN_POINTS. */
  medianCurves: MedianCurve[];
  medianPoints: number;
  /** Early-stopped trials' curves as runs ending at their stop (`stoppedRun`), oldest first, at most the window. */
  stopped: CompletedCurve[];
  /** The evaluation_number up to which `completed` and `stopped` have looked. */
  seenEvaluation: number;
  /** The evaluation_count `completed` and `stopped` were refreshed at. */
  seenCount: number;
  calibration: CalibrationCache;
  threshold: {
    engineVersion: number;
    evaluationCount: number;
    value: number | null;
    /** The incumbent trial's curve (minimised, unthinned), for the pause rule; null when not needed or none. */
    incumbentCurve: CurvePoint[] | null;
  } | null;
}

/**
 * Takes the early-stopping decision of a heartbeat (docs/algorithm.md, "Early stopping"): the
 * trial's objective curve (its stored metric points), the study's completed curves, and the threshold the
 * engine needs (Mads.earlyStopThreshold). Kept cheap: a study's settings, completed curves and
 * calibration residuals stay in memory (bounded), and are refreshed only when its evaluation count
 * or engine version moved.
 */
@Injectable()
export class TrialEarlyStopping {
  private readonly logger = new Logger(TrialEarlyStopping.name);
  private readonly studies = new Map<string, StudyMemo>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly engines: EngineService,
    private readonly studiesService: StudiesService,
  ) {}

  /** The objective metric's name, so the heartbeat asks only when its curve grew. */
  async metricOf(studyId: string): Promise<string> {
    return (await this.memo(studyId)).settings.metric;
  }

  /** The decision for a running trial whose objective curve just grew; null when nothing can be decided. */
  async decide(trial: HeartbeatTrial): Promise<EarlyStopDecision | null> {
    const memo = await this.memo(trial.studyId);
    const { settings } = memo;
    const { policy } = settings;
    if (policy.kind === 'none') return null;
    const row = await trialStore.curveOf(this.dataSource, trial.trialId, settings.metric);
    if (row === null || row.points === null) return null;
    const curve = storedCurve(row.points, settings.sign, policy.kind === 'curve');
    const totalSteps = row.total_steps ?? 0;
    // Without a run length the curve has no progress to be measured at.
    if (!(totalSteps > 0) || curve.length === 0) return null;
    await this.refreshCompleted(memo, trial.studyId, trial.evaluationCount);
    const threshold = await this.threshold(memo, trial);
    const question = {
      curve,
      totalSteps: Math.max(totalSteps, curve[curve.length - 1].step),
      threshold: threshold.value,
      completed: policy.kind === 'median' ? valuesAtStep(memo.medianCurves, curve) : memo.completed,
      stopped: memo.stopped,
    };
    // Stopping that can be undone: a trial never resumed is paused by the pause rule (only X0
    // protected); a resumed one runs under the policy itself, and its stop is final.
    if (policy.kind === 'curve' && policy.resume && trial.resumes === 0) {
      const decision = decidePause(
        { ...question, protectedTrial: trial.origin === 'x0', incumbentCurve: threshold.incumbentCurve },
        pauseRuleOf(policy),
        memo.calibration,
      );
      const score = decision.stop ? resumeScore({ points: curve, totalSteps: question.totalSteps }) : null;
      return { ...decision, pause: true, resumeScore: score };
    }
    const protectedCount =
      policy.kind === 'curve'
        ? policy.resume
          ? 0
          : policy.calibrationTrials
        : policy.kind === 'median'
          ? policy.nStartupTrials
          : 0;
    const decision = decideEarlyStop(
      {
        ...question,
        // X0 and the first trials that calibrate the rule always run to the end.
        protectedTrial: trial.origin === 'x0' || trial.number <= protectedCount,
      },
      policy,
      memo.calibration,
    );
    // `revive` (docs/algorithm.md, "Early stopping: taking stopped trials up again"): the same
    // final rule, but a trial never taken up again is kept `paused` (its checkpoint with it), so
    // that a restart of the engine on the minimum mesh, or its end with GPU-hours left, can take it
    // up again (EngineService.resumeIfDue); a revived trial's stop is final. Its resume rank is
    // stored at the pause like any paused trial's (finding 48).
    const pause = policy.kind === 'curve' && policy.revive === true && trial.resumes === 0;
    const score = pause && decision.stop ? resumeScore({ points: curve, totalSteps: question.totalSteps }) : null;
    return { ...decision, pause, resumeScore: score };
  }

  private async memo(studyId: string): Promise<StudyMemo> {
    const known = this.studies.get(studyId);
    if (known !== undefined) {
      // Map order is insertion order: re-inserting keeps the most recently used last.
      this.studies.delete(studyId);
      this.studies.set(studyId, known);
      return known;
    }
    const row = await this.studiesService.findOrThrow(studyId);
    const objective = row.outputs.find((output) => output.type === 'objective');
    const memo: StudyMemo = {
      settings: {
        policy: row.earlyStopping,
        algorithm: row.algorithm,
        metric: objective?.name ?? '',
        sign: objective?.goal === 'maximize' ? -1 : 1,
        hasPb: row.outputs.some((output) => output.type === 'constraint_pb'),
      },
      completed: [],
      medianCurves: [],
      medianPoints: 0,
      stopped: [],
      seenEvaluation: 0,
      seenCount: -1,
      calibration: createCalibrationCache(),
      threshold: null,
    };
    this.studies.set(studyId, memo);
    while (this.studies.size > MAX_STUDIES) this.studies.delete(this.studies.keys().next().value as string);
    return memo;
  }

  /**
   * Appends the study's trials told since the last look: the completed ones (their final value is
   * the engine's f, the objective minimised, on the same scale as the curves) and the early-stopped
   * ones, as runs that ended at their stop (the curve policy calibrates on both; failed trials are
   * neither).
   */
  private async refreshCompleted(memo: StudyMemo, studyId: string, evaluationCount: number): Promise<void> {
    if (memo.seenCount === evaluationCount) return;
    const { policy } = memo.settings;
    const window = policy.kind === 'curve' ? Math.min(policy.calibrationWindow, MAX_CALIBRATION_CURVES) : MEDIAN_WINDOW;
    // Only the curve policy calibrates on stopped trials (the median compares with completed ones).
    const rows = await trialStore.calibrationCurves(
      this.dataSource,
      studyId,
      memo.settings.metric,
      memo.seenEvaluation,
      window,
      policy.kind === 'curve',
    );
    for (const row of rows.reverse()) {
      memo.seenEvaluation = Math.max(memo.seenEvaluation, row.evaluation_number);
      if (row.points === null) continue;
      const points = storedCurve(row.points, memo.settings.sign, policy.kind === 'curve');
      if (row.stopped) {
        const run = stoppedRun(points);
        if (run !== null) memo.stopped.push(run);
        continue;
      }
      const totalSteps = Math.max(row.total_steps ?? 0, points[points.length - 1].step);
      if (totalSteps > 0 && row.objective !== null) {
        if (policy.kind === 'median') {
          memo.medianCurves.push({
            steps: Float64Array.from(points, (point) => point.step),
            values: Float64Array.from(points, (point) => point.value),
            totalSteps,
            finalValue: row.objective,
          });
          memo.medianPoints += points.length;
        } else memo.completed.push({ points, totalSteps, finalValue: row.objective });
      }
    }
    while (
      memo.medianCurves.length > window ||
      (memo.medianPoints > MAX_MEDIAN_POINTS && memo.medianCurves.length > 1)
    ) {
      memo.medianPoints -= (memo.medianCurves.shift() as MedianCurve).steps.length;
    }
    for (const curves of [memo.completed, memo.stopped]) {
      if (curves.length > window) curves.splice(0, curves.length - window);
    }
    memo.seenCount = evaluationCount;
  }

  /**
   * What the trial must come in strictly below: MADS's Mads.earlyStopThreshold (the feasible
   * incumbent's f; none in Phase One or under a PB barrier with hMax > 0). Random search has no
   * barrier: the best feasible f told so far, unless PB constraints make any f useful. Read again
   * only when the engine or the evaluation count moved.
   */
  private async threshold(
    memo: StudyMemo,
    trial: HeartbeatTrial,
  ): Promise<{ value: number | null; incumbentCurve: CurvePoint[] | null }> {
    const known = memo.threshold;
    if (
      known !== null &&
      known.engineVersion === trial.engineVersion &&
      known.evaluationCount === trial.evaluationCount
    ) {
      return known;
    }
    let value: number | null;
    if (memo.settings.algorithm === 'mads') {
      value = await this.engines
        .read(trial.studyId)
        .then((reading) => reading.figures.earlyStopThreshold)
        .catch((error: unknown) => {
          this.logger.warn({
            message: 'engine unreadable for early stopping',
            studyId: trial.studyId,
            error: String(error),
          });
          return null;
        });
    } else if (memo.settings.hasPb) {
      value = null;
    } else {
      const best = await trialStore.best(this.dataSource, trial.studyId);
      value = best !== null && best.feasible === true ? best.objective : null;
    }
    const { policy } = memo.settings;
    const incumbentCurve =
      value !== null && policy.kind === 'curve' && policy.resume
        ? await this.incumbentCurve(memo, trial.studyId)
        : null;
    memo.threshold = {
      engineVersion: trial.engineVersion,
      evaluationCount: trial.evaluationCount,
      value,
      incumbentCurve,
    };
    return memo.threshold;
  }

  /**
   * The curve of the best feasible trial told (the incumbent: the engine's best feasible point is
   * the one with the lowest f), minimised and unthinned (the pause rule reads it at the trial's
   * step). Null when there is none or it has no curve (an imported or enqueued point).
   */
  private async incumbentCurve(memo: StudyMemo, studyId: string): Promise<CurvePoint[] | null> {
    const best = await trialStore.best(this.dataSource, studyId);
    if (best === null || best.feasible !== true) return null;
    const row = await trialStore.curveOf(this.dataSource, best.id, memo.settings.metric);
    if (row === null || row.points === null || row.points.length === 0) return null;
    return storedCurve(row.points, memo.settings.sign, false);
  }
}

/** A completed curve as the median policy keeps it: steps ascending (the store's order), their values. */
interface MedianCurve {
  steps: Float64Array;
  values: Float64Array;
  totalSteps: number;
  finalValue: number;
}

/**
 * The median policy reads each completed curve only at the trial's latest step (decideMedian): each
 * curve is handed over as that one point, or none, found by bisection instead of a scan of the curve.
 */
function valuesAtStep(curves: readonly MedianCurve[], trialCurve: readonly CurvePoint[]): CompletedCurve[] {
  let step = -Infinity;
  for (const point of trialCurve) step = Math.max(step, point.step);
  return curves.map(({ steps, values, totalSteps, finalValue }) => {
    let low = 0;
    let high = steps.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (steps[middle] < step) low = middle + 1;
      else high = middle;
    }
    const points = low < steps.length && steps[low] === step ? [{ step, value: values[low] }] : [];
    return { points, totalSteps, finalValue };
  });
}
