/**
 * NOMAD 4's default MADS as an ask/tell SuggestionAlgorithm (docs/algorithm.md; state machine in
 * engine.ts). Points are full-dimension vectors in engine space.
 */
import type {
  EvaluationResult,
  ProblemSpec,
  StopReason,
  Suggestion,
  SuggestionAlgorithm,
} from '../optimizer-contract/algorithm';
import { InvalidResultError } from '../optimizer-contract/algorithm-errors';
import { validateProblem, validateResult } from '../optimizer-contract/problem-validation';
import { Success, emptyBarrier } from './barrier';
import { EvaluationCache } from './cache';
import { isFeasible } from './evaluation';
import {
  absorbAfterStop,
  advance,
  isStepFinished,
  mergeLate,
  nextIdleCandidate,
  nextModelIdleCandidate,
  pointSuccess,
  purgeQueue,
} from './engine';
import { newStep } from './step';
import { frameSizes, meshSizes } from './mesh';
import type { MadsOptions } from './options';
import {
  applyDeferredRefinements,
  beginFlight,
  canRelease,
  cancelDeferredRefinements,
  onDispatched,
  onStepPointDispatched,
  onTold,
  restoreFrameOfLateSuccess,
  tracksFlights,
} from './pipeline';
import { initialMesh } from './restart';
import { validateMadsOptions } from './options-validation';
import { NomadRng } from '../math/rng';
import { stateFromJson, stateToJson, type MadsStateJson } from './serialization';
import { createSpace } from './space';
import type { Candidate, EngineState, Step } from './state';

export interface IncumbentView {
  x: number[];
  outputs: number[] | null;
  f: number;
  h: number;
}

/**
 * `maxInFlight` (opt-in): the most points kept in flight, that many simplex gradients (n+1
 * points each, at least 2 points); no cap when 0. A sequential run never reaches it. Why a cap
 * at all: every point handed out while others are pending is chosen without their results, so
 * fewer points in flight buy quality per evaluation with wall-clock rounds (docs/algorithm.md,
 * "Asynchronous ask/tell"; figures in docs/benchmarks.md, "Results: 16 points in flight").
 */
function inFlightCap(s: EngineState): number {
  const gradients = s.options.maxInFlight;
  return gradients > 0 ? Math.max(2, Math.round(gradients * (s.space.free.length + 1))) : Infinity;
}

export class Mads implements SuggestionAlgorithm {
  private constructor(private readonly s: EngineState) {}

  static create(problem: ProblemSpec, options: Partial<MadsOptions> = {}): Mads {
    validateProblem(problem);
    const opts = validateMadsOptions(problem, options);
    const space = createSpace(problem);
    const cache = new EvaluationCache(problem.outputTypes);
    const state: EngineState = {
      problem: structuredClone(problem),
      options: opts,
      space,
      rng: NomadRng.fromSeed(problem.seed),
      mesh: initialMesh(problem, opts, space),
      cache,
      barrier: emptyBarrier(opts.hMax0),
      phaseOne: false,
      iteration: 0,
      step: null,
      stepCounter: 0,
      nextKind: null,
      lateIds: [],
      lastDirFeas: null,
      lastDirInf: null,
      nm: null,
      pendingSecondPass: null,
      extra: [],
      extraBases: 0,
      evaluations: 0,
      inFlight: 0,
      stop: null,
      emptyIterations: 0,
      iterationProducedPoints: false,
      flights: [],
      restart: { count: 0, cacheSize: 0, fruitless: 0 },
    };
    beginFlight(state);
    const x0: Candidate[] = problem.x0.map((x) => ({ x: [...x], fromId: -1, origin: 'x0' }));
    // X0 are evaluated without opportunism (§1.2).
    state.step = newStep(state, 'x0', x0, false);
    return new Mads(state);
  }

  static fromJSON(state: unknown): Mads {
    return new Mads(stateFromJson(state));
  }

  get stopReason(): StopReason | null {
    return this.s.stop;
  }

  get evaluationCount(): number {
    return this.s.evaluations;
  }

  /** MegaIterations started so far (0 while X0 is evaluated). */
  get iteration(): number {
    return this.s.iteration;
  }

  /**
   * Restarts on the minimum mesh so far (`restartOnMinMesh`, restart.ts): where NOMAD would have
   * stopped on the mesh. Read-only; the service takes up stopped and paused trials again at each
   * one (early-stopping/revive.ts, docs/algorithm.md, "Early stopping: taking stopped trials up again").
   */
  get restartCount(): number {
    return this.s.restart.count;
  }

  /** Points suggested and not told yet. */
  get pendingCount(): number {
    return this.s.inFlight;
  }

  /** Frame size Δ per variable (full dimension; 0 for fixed variables). */
  frameSize(): number[] {
    return this.fullDimension(frameSizes(this.s.mesh));
  }

  /** Mesh size δ per variable (full dimension; 0 for fixed variables). */
  meshSize(): number[] {
    return this.fullDimension(meshSizes(this.s.mesh));
  }

  bestFeasible(): IncumbentView | null {
    return this.s.phaseOne ? null : this.view(this.s.barrier.incFeas[0]);
  }

  bestInfeasible(): IncumbentView | null {
    return this.s.phaseOne ? null : this.view(this.s.barrier.incInf[0]);
  }

  /**
   * The largest objective f with which a point not evaluated yet could still be a success (FULL
   * or PARTIAL, §5.1) against the current barrier, whatever its constraint values turn out to be:
   * the value an early-stopped trial must be unable to come in below (docs/algorithm.md, "Early
   * stopping"). null when f alone decides nothing: no feasible incumbent yet (Phase One, or
   * nothing feasible), or PB constraints with hMax > 0 (an infeasible point under hMax with a
   * smaller h than the infeasible incumbent is a success whatever its f, §5.3).
   */
  earlyStopThreshold(): number | null {
    const best = this.bestFeasible();
    if (best === null) return null;
    if (this.s.problem.outputTypes.includes('PB') && !isFeasible(this.s.barrier.hMax)) return null;
    return best.f;
  }

  /** USER_STOP: no further suggestions; results can still be told. */
  stop(): void {
    if (this.s.stop === null) this.s.stop = { kind: 'USER_STOP' };
    absorbAfterStop(this.s);
  }

  ask(k: number): Suggestion[] {
    if (!Number.isInteger(k) || k < 0) throw new InvalidResultError('k', 'must be a non-negative integer');
    const s = this.s;
    advance(s);
    const out: Suggestion[] = [];
    while (out.length < k && s.stop === null) {
      const max = s.problem.maxEvaluations;
      if (max !== null && s.evaluations + s.inFlight >= max) break;
      if (s.inFlight >= inFlightCap(s)) break;
      const step = s.step;
      if (step === null) break;
      purgeQueue(s, step);
      const next = step.queue.shift();
      if (next !== undefined) {
        out.push(this.dispatch(next, step));
        continue;
      }
      if (isStepFinished(s, step)) {
        advance(s);
        continue;
      }
      // The step waits for results: go on with what a sequential MADS would evaluate next
      // (docs/algorithm.md, "Asynchronous ask/tell").
      if (s.options.fillIdle && s.options.modelIdleFirst) {
        const model = nextModelIdleCandidate(s);
        if (model !== null) {
          out.push(this.dispatch(model, null));
          continue;
        }
      }
      if (s.options.fillIdle && canRelease(s, step)) {
        step.released = true;
        advance(s);
        continue;
      }
      // The step waits for results: keep idle runners busy (docs/algorithm.md).
      const extra = s.options.fillIdle ? nextIdleCandidate(s) : null;
      if (extra === null) break;
      out.push(this.dispatch(extra, null));
    }
    return out;
  }

  tell(results: readonly EvaluationResult[]): void {
    const s = this.s;
    results.forEach((r, i) => validateResult(s.problem, r, i));
    for (const r of results) {
      let rec = s.cache.find(r.x);
      if (rec !== undefined && rec.status !== 'pending') {
        // Already evaluated: ignored, unless a resumed trial brings the value of a point told failed.
        if (r.resumed === true && rec.status === 'failed') this.tellResumed(rec.id, r.outputs, r.censoredBelow);
        continue;
      }
      if (rec === undefined) rec = s.cache.addPending(r.x, -1, 'told', -1);
      else {
        s.inFlight--;
        onTold(s, rec.stepId, rec.id);
      }
      s.cache.setResult(rec, r.outputs, r.censoredBelow ?? null);
      s.evaluations++;
      const step = s.step;
      if (step !== null && rec.stepId === step.id && step.dispatched.includes(rec.id)) {
        step.returned.push(rec.id);
        if (pointSuccess(s, step, rec.id) === Success.FULL) {
          step.fullSuccess = true;
          // EVAL_QUEUE_CLEAR (§3.7): drop the undispatched points after a FULL success.
          if (step.opportunistic) step.queue = [];
        }
      } else {
        s.lateIds.push(rec.id);
        this.takeLateSuccess(rec.id, rec.stepId);
      }
    }
    applyDeferredRefinements(s);
    const max = s.problem.maxEvaluations;
    if (s.stop === null && max !== null && s.evaluations >= max) {
      s.stop = { kind: 'MAX_BB_EVAL', evaluations: s.evaluations };
    }
    if (s.step?.kind !== 'x0') mergeLate(s);
    advance(s);
    absorbAfterStop(s);
  }

  /**
   * Declare points being evaluated outside the engine (e.g. trials enqueued by a user) before
   * their results are told: they count as in flight for the budget and are never suggested.
   * Points already known are ignored. Their results are told as usual.
   */
  markInFlight(points: readonly (readonly number[])[]): void {
    points.forEach((x, i) => validateResult(this.s.problem, { x: [...x], outputs: null }, i));
    for (const x of points) {
      if (this.s.cache.has(x)) continue;
      this.s.cache.addPending(x, -1, 'told', -1);
      this.s.inFlight++;
    }
  }

  toJSON(): MadsStateJson {
    return stateToJson(this.s);
  }

  /**
   * The value of a point told before as an unsuccessful evaluation (a paused trial, resumed): it
   * becomes a late result — the barrier takes it (`mergeLate`) and a FULL success ends the running
   * step (`takeLateSuccess`) — without counting an evaluation, since the budget counted the point
   * when it was paused. A failure adds nothing (the point is failed already). Sound for the same
   * reason any late result is: it only adds information about a point the engine already holds
   * (docs/algorithm.md, "Early stopping: pause and resume").
   */
  private tellResumed(id: number, outputs: readonly number[] | null, censoredBelow: number | undefined): void {
    const s = this.s;
    const rec = s.cache.get(id);
    // Stopped again after a resume: the later decision saw more of the curve, so its bound replaces the pause's.
    s.cache.setResult(rec, outputs, censoredBelow ?? rec.censoredBelow);
    if (rec.status !== 'ok') return;
    s.lateIds.push(rec.id);
    this.takeLateSuccess(rec.id, rec.stepId);
  }

  /**
   * `lateSuccess`: a late point that is a FULL success against the running step's start
   * barrier ends that step, as a success of the running step would (the frame update of the
   * next iteration then enlarges the frame the point was generated with).
   */
  private takeLateSuccess(id: number, stepId: number): void {
    const s = this.s;
    const step = s.step;
    if (!s.options.lateSuccess || step === null || step.kind === 'x0' || !step.opportunistic) return;
    if (pointSuccess(s, step, id) !== Success.FULL) return;
    restoreFrameOfLateSuccess(s, stepId);
    cancelDeferredRefinements(s, stepId);
    step.fullSuccess = true;
    step.queue = [];
  }

  /** `step` = the step whose queue the point came from; null for idle filling. */
  private dispatch(c: Candidate, step: Step | null): Suggestion {
    const s = this.s;
    // Idle-filling points belong to the running step's iteration when the pipeline tracks them.
    const owner = step ?? (tracksFlights(s) ? s.step : null);
    const rec = s.cache.addPending(c.x, c.fromId, c.origin, owner === null ? -1 : owner.id);
    if (step !== null) {
      step.dispatched.push(rec.id);
      onStepPointDispatched(s, step.id, rec.id);
    }
    if (owner !== null) onDispatched(s, owner.id);
    s.inFlight++;
    return { x: [...c.x], origin: c.origin };
  }

  private view(id: number | undefined): IncumbentView | null {
    if (id === undefined) return null;
    const rec = this.s.cache.get(id);
    return { x: [...rec.x], outputs: rec.outputs === null ? null : [...rec.outputs], f: rec.f, h: rec.h };
  }

  private fullDimension(freeValues: number[]): number[] {
    const out = new Array<number>(this.s.space.dimension).fill(0);
    this.s.space.free.forEach((i, k) => {
      out[i] = freeValues[k];
    });
    return out;
  }
}
