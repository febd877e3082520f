/**
 * Stopping that can be undone (docs/algorithm.md, "Early stopping: pause and resume"): the one
 * owner of the pause rule, of the choice of the paused trial to resume and of the stagnation count
 * that triggers a resume. Pure; the trials service asks it on heartbeats and leases, and
 * bench:fidelity (api/bench/fidelity/promote.ts) replays studies with exactly this code.
 *
 * A pause is an unsuccessful evaluation for the engine, like a final stop; because a wrong pause is
 * a delay rather than a loss (the trial can be resumed from its checkpoint for its remaining
 * steps), the pause rule is more aggressive than the default curve rule: only X0 is protected, the
 * curve rule calibrates on 1 completed curve (paused runs calibrate it too), and a trial whose value
 * is not below the incumbent's own curve at the same step is paused from `behindIncumbent.from` on.
 * A resumed trial runs under the study's own curve policy, whose stop is final; that is the only
 * way a paused trial is stopped for good before its study ends (`chooseResume`).
 */
import type { CalibrationCache, CompletedCurve } from './calibration';
import { extrapolateCurve, type CurvePoint } from './curve-extrapolation';
import { decideEarlyStop, finalValueNoise, type StopDecision, type StopQuestion } from './stopping-decision';
import type { CurveStoppingPolicy, ResumeOptions } from './stopping-policy';

/** The pause rule: when a fresh trial is paused. */
export interface PauseRule {
  /** The curve rule that pauses, usually looser than the study's (`pausePolicyOf`). */
  pausePolicy: CurveStoppingPolicy;
  /**
   * Pause at progress ≥ `from` when the value is not below the incumbent's curve at the same step:
   * only while `pausePolicy` is calibrating, or `always` (either test pauses); null: never.
   * `noiseZ` (opt-in, bench:fidelity's `_behindnoise` rows; absent or 0: off): only when the value is
   * above the incumbent's by at least noiseZ · √(σ̂² + σ̂_inc²), σ̂ each curve's noise around its
   * own fit up to that step (`finalValueNoise`): the two values compared are both observations.
   */
  behindIncumbent: { from: number; always: boolean; noiseZ?: number } | null;
}

/**
 * The pause rule the service runs for a study whose curve policy has `resume` on: its own curve
 * policy with 1 calibration curve, and the behind-the-incumbent test from its `minProgress` on (a
 * tenth of the run by default, the setting measured in bench:fidelity).
 */
export function pauseRuleOf(policy: CurveStoppingPolicy): PauseRule {
  return {
    pausePolicy: { ...policy, calibrationTrials: 1 },
    behindIncumbent: { from: policy.minProgress, always: true },
  };
}

/**
 * The incumbent's value at `step`: its latest point at or before that step (the same step when the
 * curves share their evaluation steps, as the runner's do); null when it has none so early.
 */
export function incumbentValueAt(incumbentCurve: readonly CurvePoint[], step: number): number | null {
  let low = 0;
  let high = incumbentCurve.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (incumbentCurve[middle].step <= step) low = middle + 1;
    else high = middle;
  }
  return low === 0 ? null : incumbentCurve[low - 1].value;
}

export interface PauseQuestion extends StopQuestion {
  /** The incumbent trial's curve in step order (minimised), null when unknown. */
  incumbentCurve: readonly CurvePoint[] | null;
}

/**
 * Whether a fresh trial is paused now: the pause policy's decision, or reason `behind_incumbent`
 * when the second test pauses it. `stop` means pause. X0 (`protectedTrial`) is never paused, and
 * nothing is paused before there is an incumbent (threshold null).
 */
export function decidePause(question: PauseQuestion, rule: PauseRule, cache?: CalibrationCache): StopDecision {
  const decision = decideEarlyStop(question, rule.pausePolicy, cache);
  if (decision.stop || question.protectedTrial || question.threshold === null) return decision;
  const behind = rule.behindIncumbent;
  if (behind === null || question.incumbentCurve === null || question.curve.length === 0) return decision;
  if (!behind.always && decision.reason !== 'calibrating') return decision;
  const last = question.curve[question.curve.length - 1];
  if (last.step / question.totalSteps < behind.from) return decision;
  const incumbentValue = incumbentValueAt(question.incumbentCurve, last.step);
  if (incumbentValue === null || last.value < incumbentValue) return decision;
  if ((behind.noiseZ ?? 0) > 0 && last.value - incumbentValue < behind.noiseZ! * behindNoise(question, last.step)) {
    return decision;
  }
  return { ...decision, stop: true, reason: 'behind_incumbent' };
}

/** √(σ̂² + σ̂_inc²) at `step`: the noise of the difference of the two observations (Infinity: no fit). */
function behindNoise(question: PauseQuestion, step: number): number {
  const incumbent = (question.incumbentCurve ?? []).filter((point) => point.step <= step);
  const own = extrapolateCurve(question.curve, question.totalSteps);
  const theirs = extrapolateCurve(incumbent, question.totalSteps);
  if (own === null || theirs === null) return Infinity;
  return Math.hypot(finalValueNoise(own.rmse, question.curve.length), finalValueNoise(theirs.rmse, incumbent.length));
}

/** A paused trial as the resume choice sees it. */
export interface PausedTrial<Id> {
  id: Id;
  /** Its curve up to the pause (minimised), in step order. */
  points: readonly CurvePoint[];
  totalSteps: number;
}

/** What the study knows when a resume is due. */
export interface ResumeContext {
  /** The incumbent's value (the engine's threshold); null when none. */
  threshold: number | null;
  completed: readonly CompletedCurve[];
  /** Stopped and paused runs (`stoppedRun`), as calibration evidence. */
  stopped: readonly CompletedCurve[];
}

export interface ResumeChoice<Id> {
  /** The paused trial to resume now, null when none is left. */
  resume: Id | null;
  /** Paused trials the final rule now rules out: stopped for good. */
  ruledOut: Id[];
}

/**
 * What the resume choice ranks a paused trial by (lower first): the point extrapolation of its
 * observed curve, its last value when no fit holds, +Infinity for a curve the fit or the values
 * leave without a number (never preferred; NaN would compare false either way) or an empty curve.
 * A paused curve does not change, so the service computes this once, at the pause, and stores it
 * (`trials.resume_score`): a resume then reads the lowest stored score instead of fitting every
 * paused curve again (engine/study-resume.ts; docs/reliability.md, finding 48).
 */
export function resumeScore(entry: Omit<PausedTrial<unknown>, 'id'>): number {
  if (entry.points.length === 0) return Infinity;
  const score =
    extrapolateCurve(entry.points, entry.totalSteps)?.finalValue ?? entry.points[entry.points.length - 1].value;
  return Number.isNaN(score) ? Infinity : score;
}

/**
 * Which paused trial to resume: the one with the lowest point extrapolation of its observed curve
 * (its last value when no fit holds: `resumeScore`), among those `finalPolicy` — asked again with everything the
 * study now knows — would not stop; the others are ruled out for good. `finalPolicy` null: every
 * paused trial stays eligible. Ties go to the earliest in `paused`.
 *
 * The service passes null (engine/study-resume.ts; bench:fidelity's `_ruleout` rows measure the
 * other): a paused curve does not change, and asking the final rule about it at every resume
 * choice, against a threshold and a calibration set that move, gives a wrong stop that many
 * chances on the same few points; a paused trial is stopped for good only as a running trial is,
 * by the final rule after each new observation once it is resumed (docs/algorithm.md, "Early
 * stopping: pause and resume", "Which").
 */
export function chooseResume<Id>(
  paused: readonly PausedTrial<Id>[],
  context: ResumeContext,
  finalPolicy: CurveStoppingPolicy | null,
  cache?: CalibrationCache,
): ResumeChoice<Id> {
  const ruledOut: Id[] = [];
  let best: { id: Id; score: number } | null = null;
  for (const entry of paused) {
    if (entry.points.length === 0) continue;
    if (
      finalPolicy !== null &&
      decideEarlyStop(
        {
          curve: entry.points,
          totalSteps: entry.totalSteps,
          threshold: context.threshold,
          protectedTrial: false,
          completed: context.completed,
          stopped: context.stopped,
        },
        finalPolicy,
        cache,
      ).stop
    ) {
      ruledOut.push(entry.id);
      continue;
    }
    const score = resumeScore(entry);
    if (best === null || score < best.score) best = { id: entry.id, score };
  }
  return { resume: best?.id ?? null, ruledOut };
}

/**
 * The stagnation count after one more told result: a fresh trial (completed or paused) sets it back
 * to 0 when it improved the incumbent and adds one otherwise (a pause did not improve it); a resumed
 * trial that completes sets it back to 0 when it improved the incumbent and leaves it as it is
 * otherwise (it was counted when it was paused).
 */
export function nextStagnation(count: number, result: { resumed: boolean; improved: boolean }): number {
  if (result.improved) return 0;
  return result.resumed ? count : count + 1;
}

/** Whether the stagnation count calls for a resume (the caller then sets the count back to 0). */
export function resumeDue(count: number, options: ResumeOptions): boolean {
  return count >= options.afterTrialsWithoutImprovement;
}

/**
 * Why a stopped or paused trial is taken up again now (docs/algorithm.md, "Early stopping: taking
 * stopped trials up again"): `stagnation`, the resume trigger above; `restart`, the engine restarted
 * on the minimum mesh more often than the study has taken trials up again (where NOMAD would have
 * stopped: the engine found nothing better near its incumbent, so the most promising trial cut
 * short is worth its remaining steps before the wider frame is explored); `exhausted`, the engine
 * has nothing left to ask (its evaluation budget told, or it stopped).
 */
export type TakeUpReason = 'stagnation' | 'restart' | 'exhausted';

export interface TakeUpQuestion {
  /** `resumeDue` on the study's stagnation count (false without `resume`). */
  stagnationDue: boolean;
  /** The engine's restarts on the minimum mesh so far (`Mads.restartCount`). */
  restarts: number;
  /** Trials taken up again so far in the study, for any reason (resumed or revived). */
  takenUp: number;
  /** Whether a restart calls for a take-up at all (the policy's `revive`). */
  onRestart: boolean;
  /** The engine has nothing left to ask. */
  exhausted: boolean;
}

/**
 * The reason a trial is taken up again now, null when none: exhaustion first (then one per lease
 * while any is left), a restart not yet answered next, the stagnation count last. The restart
 * credit is `restarts − takenUp`, read from what the study stores (the engine's restart count and
 * the trials with `resumes > 0`), so it needs no counter of its own and replays after a restart of
 * the service: at least one trial is taken up again per restart, whatever took it up.
 */
export function takeUpReason(question: TakeUpQuestion): TakeUpReason | null {
  if (question.exhausted) return 'exhausted';
  if (question.onRestart && question.restarts > question.takenUp) return 'restart';
  return question.stagnationDue ? 'stagnation' : null;
}

/** What a study has left to spend on taking final-stopped trials up again once its engine is done. */
export interface ReviveBudget {
  /** The study has a GPU-hour budget, not spent (leases stop when it is). */
  gpuBudgetLeft: boolean;
  /** `maxEvaluations` minus the evaluations told: more than 0 when the engine ended on the mesh early. */
  evaluationsLeft: number;
  /** As in `TakeUpQuestion`. */
  takenUp: number;
  restarts: number;
}

/**
 * Whether a final-stopped trial may be taken up again for `reason` (paused trials always may,
 * under `resume`): on a restart; never on stagnation, which is `resume`'s trigger for the trials it
 * paused on purpose; once the engine is done, while a GPU-hour budget is left to spend, or in a
 * study budgeted in evaluations alone while the evaluations its engine left unspent (it ended on
 * the mesh early) exceed the trials taken up beyond the restarts — one run-on per evaluation left.
 * A study that told all its evaluations has spent what it was given: reviving every stopped trial
 * then would undo the stopping.
 */
export function reviveAllowed(reason: TakeUpReason, budget: ReviveBudget): boolean {
  if (reason === 'restart') return true;
  if (reason !== 'exhausted') return false;
  return budget.gpuBudgetLeft || budget.takenUp < budget.restarts + budget.evaluationsLeft;
}
