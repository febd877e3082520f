import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, type FieldError, ValidationFailedError } from '../common/errors/domain-error';
import { evaluateOutputs, isFeasible } from '../mads/evaluation';
import { MetricsService } from '../metrics/metrics.service';
import type { LeaseResponseDto } from '../runners/dto/lease.dto';
import { pointKey } from '../search-space/engine-mapping';
import type { UserPoint } from '../search-space/search-space';
import { validatePoint } from '../search-space/search-space-validator';
import { StudyChanges } from '../studies/study-changes';
import { mappingOf, studyStopReason } from '../studies/study-engine';
import type { TrialResponseDto } from '../trials/dto/trial-response.dto';
import { lockProjectTrialRoom } from '../projects/project-trial-quota';
import { lockRunnerSlots } from '../runners/runner-slots';
import * as trialStore from '../trials/store/trial-store';
import { toTrialResponse } from '../trials/trial-response.mapper';
import { nextStagnation, resumeDue, reviveAllowed, takeUpReason, type ReviveBudget } from '../early-stopping';
import type { EngineSession } from './engine-session';
import { EngineHost } from './engine-host';
import type { EngineStart } from './engine-host-protocol';
import { EngineStore, type EngineReading } from './engine-store';
import type { LockedStudy } from './locked-study';
import { resumeMostPromising, resumeOptionsOf, reviveOf } from './study-resume';

/** How many times one ask asks the engine again when it suggests a point that is already a trial. */
const MAX_ASKS_PER_LEASE = 5;
/** Most points one ask asks the engine for (the asking lease and the runners queued behind it). */
const MAX_BATCH = 64;

/** An evaluation read from a NOMAD cache file (checked against the study's space by the caller). */
export interface ImportedEvaluation {
  point: number[];
  /** The outputs in the study's output order; null for a failed evaluation. */
  outputs: number[] | null;
}

/** What an ask granted: `leases[i]` is the lease of the i-th runner the ask served (fewer when it ran short). */
export interface AskOutcome {
  leases: LeaseResponseDto[];
  /** The engine had nothing to suggest until results in flight come back. */
  starved: boolean;
}

/**
 * The engine's commands (docs/architecture.md, "Module map" and the path of a trial). Each one is
 * a transaction of its own with the study row locked (EngineStore): it tells the engine every
 * stored result, changes the study's trials through the trial store and the study's counters and
 * status through LockedStudy, and saves the engine's calls, all in that transaction. Callers pass
 * ids and values; no manager or entity leaves this file.
 *
 * Telling is a group commit: a report only stores its result (told = false); `tellStored` tells
 * the engine every untold result at once, in the order they finished, and reports arriving while
 * one such flush runs share the next one. Every ask tells first, so the engine decides on every
 * result it can have.
 */
@Injectable()
export class EngineService {
  private readonly logger = new Logger(EngineService.name);
  /** Per study: the flush running now, and the one queued behind it (shared by its callers). */
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly store: EngineStore,
    private readonly host: EngineHost,
    private readonly changes: StudyChanges,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Asks the study's engine for points and leases them: the first to `runners()[0]`, the others to
   * the next runners in order, as many as the parallel limit and the budget allow (with one
   * runner, one point: NOMAD's sequential order). `runners` is read once the study is locked and
   * its stored results told, so leases queued meanwhile are served too. A pending trial that
   * appeared while the lock was awaited goes to the first runner alone. Nothing when the study is
   * not active. `projectQuota`: the project's quota on running trials, taken under its lock
   * (projects/project-trial-quota.ts) and held until this commits; null when it has none. Each
   * runner is served within its slots, under its lock (runners/runner-slots.ts): a runner that
   * holds as many leases as it may is left out, and no point is asked for it. Leases are returned
   * in the order of the runners served; each names its runner (`trial.runnerId`).
   */
  async askAndLease(
    studyId: string,
    runners: () => readonly string[],
    projectQuota: { projectId: string; quota: number } | null = null,
  ): Promise<AskOutcome> {
    return this.store.withLockedStudy(studyId, async (manager, study, engine) => {
      const none = { leases: [], starved: false };
      if (!study.isActive) return none;
      const room =
        projectQuota === null
          ? Infinity
          : await lockProjectTrialRoom(manager, projectQuota.projectId, projectQuota.quota);
      if (room <= 0) return none;
      // Runners with a free slot only, the first of them served first.
      const locked = new Set<string>();
      const first = (await lockRunnerSlots(manager, runners(), locked))[0];
      if (first === undefined) return none;
      // A pending trial may have appeared (requeued, enqueued) while we waited for the lock.
      const pending = await trialStore.leasePending(manager, first, study.id);
      if (pending !== null) return { leases: [pending], starved: false };
      const { running, pending: queued, untold } = await this.tellFinished(manager, study, engine);
      if (!study.isActive) return none;
      // A spent GPU-hour budget leases nothing more, resumes included: the trials running finish
      // (their results count), then the study ends (completeIfDone).
      if (await this.gpuBudgetSpent(manager, study)) {
        await this.completeIfDone(manager, study, await engine());
        return none;
      }
      const resumed = await this.resumeIfDue(manager, study, engine, first);
      if (resumed !== null) return { leases: [resumed], starved: false };
      if (!study.isActive) return none;
      const { maxParallelTrials, maxEvaluations } = study.definition;
      const capacity = Math.min(
        maxParallelTrials - running - queued,
        maxEvaluations - study.evaluationCount - untold - running - queued,
        room,
      );
      if (capacity <= 0) return none;
      // Read again (leases queued meanwhile are served too), each runner within its slots; one
      // whose lock another transaction holds now waits for the next ask.
      const served = (await lockRunnerSlots(manager, runners(), locked, false)).slice(0, Math.min(capacity, MAX_BATCH));
      const session = await engine();
      const mapping = mappingOf(study.definition);
      const leases: LeaseResponseDto[] = [];
      // Suggestions no runner can run (a derived parameter is not finite there) use budget too.
      let unrunnable = 0;
      for (
        let asks = 0;
        asks < MAX_ASKS_PER_LEASE && leases.length < served.length && leases.length + unrunnable < capacity;
        asks += 1
      ) {
        const endAsk = this.metrics.askDuration.startTimer();
        const suggestions = await session.ask(
          Math.min(served.length - leases.length, capacity - leases.length - unrunnable),
        );
        endAsk();
        if (suggestions.length === 0) break;
        const { runnable, failed: unrunnableHere } = this.splitUnrunnable(study, suggestions, mapping);
        // A point already tried (its failure told before) is not written twice.
        const tried = await trialStore.triedPointKeys(
          manager,
          study.id,
          unrunnableHere.map((row) => row.point_key),
        );
        const failed = unrunnableHere
          .filter((row) => !tried.has(row.point_key))
          .map((row, index) => ({ ...row, number: study.nextTrialNumber + index }));
        if (failed.length > 0) {
          await trialStore.insertFinished(manager, study.id, failed, new Date());
          study.takeTrialNumbers(failed.length);
          unrunnable += failed.length;
        }
        const granted = await trialStore.insertLeased(
          manager,
          study.definition,
          runnable,
          served.slice(leases.length, leases.length + runnable.length),
          mapping,
        );
        study.takeTrialNumbers(granted.length);
        leases.push(...granted);
      }
      // The engine hears at once that those points failed, as NOMAD's blackbox would have said.
      if (unrunnable > 0) await this.tellFinished(manager, study, engine);
      if (leases.length > 0) return { leases, starved: false };
      const ended = await this.completeIfDone(manager, study, session);
      return { leases, starved: !ended && (await session.stopReason()) === null && running + queued + untold > 0 };
    });
  }

  /**
   * Stopping that can be undone (docs/algorithm.md, "Early stopping: pause and resume"): when the
   * study's policy has `resume` on and a resume is due — `afterTrialsWithoutImprovement` told
   * results in a row without improving the incumbent, or the engine has nothing left to ask (its
   * budget of evaluations is spent, or it stopped) — the most promising paused trial goes back to
   * pending and is leased to `runnerId` at once; null when none is (then, with nothing left to
   * ask and no paused trial left, the study ends). Resumed trials are not new evaluations: at the
   * end of the budget, paused trials are resumed one per ask while any is left.
   *
   * With `revive` (docs/algorithm.md, "Early stopping: taking stopped trials up again") the
   * trigger is also a restart of the engine on the minimum mesh not yet answered (`takeUpReason`:
   * its restart count above the trials taken up so far), and a study without `resume` — whose
   * paused trials are stops of its final rule kept for this — takes them up only as
   * `reviveAllowed` says: on a restart, or at the engine's end while a GPU-hour budget is left or,
   * budgeted in evaluations alone, while evaluations its engine left unspent remain (`reviveBudget`).
   */
  private async resumeIfDue(
    manager: EntityManager,
    study: LockedStudy,
    engine: () => Promise<EngineSession>,
    runnerId: string,
  ): Promise<LeaseResponseDto | null> {
    const options = resumeOptionsOf(study.definition.earlyStopping);
    const revive = reviveOf(study.definition.earlyStopping);
    if (options === null && !revive) return null;
    const session = await engine();
    const exhausted = study.evaluationCount >= study.definition.maxEvaluations || (await session.stopReason()) !== null;
    const budget = revive ? await this.reviveBudget(manager, study, session) : null;
    const reason = takeUpReason({
      stagnationDue: options !== null && resumeDue(study.trialsWithoutImprovement, options),
      restarts: budget?.restarts ?? 0,
      takenUp: budget?.takenUp ?? 0,
      onRestart: revive,
      exhausted,
    });
    if (reason === null) return null;
    if (options === null && budget !== null && !reviveAllowed(reason, budget)) {
      if (exhausted) await this.completeIfDone(manager, study, session);
      return null;
    }
    if (reason === 'stagnation') study.setTrialsWithoutImprovement(0);
    const resumed = await resumeMostPromising(manager, this.host, study, new Date());
    if (resumed === null) {
      if (exhausted) await this.completeIfDone(manager, study, session);
      return null;
    }
    // The runner that asked takes it (the oldest pending trial: requeued ones go first).
    return trialStore.leasePending(manager, runnerId, study.id);
  }

  /**
   * Tells a study's engine the results stored so far, in a transaction of its own. Resolves once
   * a flush that started after this call has committed; calls made while one runs share the next.
   */
  tellStored(studyId: string): Promise<void> {
    const queued = this.queued.get(studyId);
    if (queued !== undefined) return queued;
    const start = (): Promise<void> => {
      this.queued.delete(studyId);
      // An engine ask since the report tells every stored result: often nothing is left to tell.
      const flushing = trialStore
        .hasUntold(this.dataSource, studyId)
        .then(async (untold) => {
          if (untold) {
            await this.store.withLockedStudy(studyId, (manager, study, engine) =>
              this.tellFinished(manager, study, engine),
            );
            this.changes.notify(studyId);
          }
        })
        .finally(() => {
          if (this.running.get(studyId) === flushing) this.running.delete(studyId);
        });
      this.running.set(studyId, flushing);
      return flushing;
    };
    const running = this.running.get(studyId);
    if (running === undefined) return start();
    const next = running.catch(() => undefined).then(start);
    this.queued.set(studyId, next);
    return next;
  }

  /** `tellStored`, for callers whose result is already stored: a failure is logged, the result is told later. */
  async tellStoredQuietly(studyId: string): Promise<void> {
    await this.tellStored(studyId).catch((error: unknown) =>
      this.logger.warn({
        message: 'telling stored results failed; they are told at the next ask',
        studyId,
        error: String(error),
      }),
    );
  }

  /**
   * Splits the engine's suggestions into points a runner can run and failed evaluations for the
   * others: a derived parameter that is not a finite number there (1 / x at x = 0, log of a
   * negative). The engine may suggest such a point anywhere inside the box; a runner would get a
   * null parameter. Like NOMAD's blackbox failing at a point (EVAL_FAILED), it counts against the
   * budget and the engine is told, so it moves on; no runner is involved.
   */
  private splitUnrunnable(
    study: LockedStudy,
    suggestions: Awaited<ReturnType<EngineSession['ask']>>,
    mapping: ReturnType<typeof mappingOf>,
  ): { runnable: typeof suggestions; failed: trialStore.ImportedTrial[] } {
    const runnable: typeof suggestions = [];
    const failed: trialStore.ImportedTrial[] = [];
    const seen = new Set<string>();
    for (const suggestion of suggestions) {
      const parameters = mapping.toUser(suggestion.x);
      const nonFinite = mapping.nonFiniteDerived(parameters);
      if (nonFinite === null) {
        runnable.push(suggestion);
        continue;
      }
      const key = pointKey(suggestion.x);
      if (seen.has(key)) continue;
      seen.add(key);
      failed.push({
        number: study.nextTrialNumber + failed.length,
        origin: suggestion.origin,
        status: 'failed',
        point: suggestion.x,
        point_key: key,
        parameters,
        outputs: null,
        error:
          `not run: the derived parameter ${nonFinite.name} is ${String(nonFinite.value)} at this point ` +
          `(e.g. a division by zero); counted as a failed evaluation`,
      });
    }
    return { runnable, failed };
  }

  /** A user-given point, leased before any engine suggestion; its result is told to the engine like any other. */
  async enqueue(studyId: string, parameters: UserPoint): Promise<TrialResponseDto> {
    const enqueued = await this.store.withLockedStudy(studyId, async (manager, study, engine) => {
      const errors: FieldError[] = [];
      validatePoint(study.definition.parameters, parameters, 'parameters', errors);
      if (errors.length > 0) throw new ValidationFailedError(errors);
      this.assertNotOver(study, '; no trial can be added');
      const mapping = mappingOf(study.definition);
      const point = mapping.toEngine(parameters);
      const key = pointKey(point);
      const existing = await trialStore.findByPointKey(manager, studyId, key);
      if (existing !== null) {
        throw new DomainError('DUPLICATE_POINT', `this point is already trial #${existing.number} of the study`, {
          trialId: existing.id,
          number: existing.number,
        });
      }
      // A point beyond the budget could never be leased: it would only sit `pending` (a row per
      // request, without end). The budget holds the evaluations told and every trial not yet settled.
      const unsettled = await trialStore.countUnsettled(manager, studyId);
      const maxEvaluations = study.definition.maxEvaluations;
      if (await this.gpuBudgetSpent(manager, study)) {
        throw new DomainError(
          'BUDGET_EXHAUSTED',
          `the study's budget of ${study.definition.maxGpuHours} GPU-hours is spent: this point could never be evaluated`,
          { maxGpuHours: study.definition.maxGpuHours },
        );
      }
      if (study.evaluationCount + unsettled >= maxEvaluations) {
        throw new DomainError(
          'BUDGET_EXHAUSTED',
          `the study's budget of ${maxEvaluations} evaluations is taken (${study.evaluationCount} evaluated, ` +
            `${unsettled} pending or running): this point could never be evaluated`,
          { maxEvaluations, evaluations: study.evaluationCount, unsettled },
        );
      }
      const user = mapping.toUser(point);
      const nonFinite = mapping.nonFiniteDerived(user);
      if (nonFinite !== null) {
        throw new ValidationFailedError([
          {
            field: 'parameters',
            reason: `gives the derived parameter ${nonFinite.name} the value ${String(nonFinite.value)}; a runner needs a finite number`,
          },
        ]);
      }
      const trial = await trialStore.insertPending(manager, {
        studyId,
        number: study.nextTrialNumber,
        point,
        pointKey: key,
        parameters: user,
      });
      study.takeTrialNumbers(1);
      // The engine must know the point is being evaluated, so it neither suggests it nor overspends the budget.
      await (await engine()).markInFlight([point]);
      return toTrialResponse(trial);
    });
    this.changes.notify(studyId);
    return enqueued;
  }

  /**
   * Warm start: evaluations become finished trials (origin `import`) told to the engine, as many
   * as the budget has room for; points already tried are skipped (the first of a point wins, as
   * in NOMAD's cache). With the lock held, one query finds the points already tried.
   */
  async importEvaluations(
    studyId: string,
    evaluations: readonly ImportedEvaluation[],
  ): Promise<{ imported: number; skipped: number }> {
    const byKey = new Map<string, ImportedEvaluation>();
    for (const evaluation of evaluations) {
      const key = pointKey(evaluation.point);
      if (!byKey.has(key)) byKey.set(key, evaluation);
    }
    return this.store.withLockedStudy(studyId, async (manager, study, engine) => {
      this.assertNotOver(study, '');
      const tried = await trialStore.triedPointKeys(manager, studyId, [...byKey.keys()]);
      // The budget holds the evaluations told and every trial not yet settled (pending, running, or
      // a result not yet told), as for an enqueued point: counting only the untold results, an
      // import beside trials in flight ended the study in their place, and they then completed
      // past the budget (docs/reliability.md, finding 26).
      const unsettled = await trialStore.countUnsettled(manager, studyId);
      const room = Math.max(0, study.definition.maxEvaluations - study.evaluationCount - unsettled);
      const mapping = mappingOf(study.definition);
      const rows: trialStore.ImportedTrial[] = [];
      for (const [key, entry] of byKey) {
        if (tried.has(key)) continue;
        if (rows.length >= room) break;
        const outputs =
          entry.outputs === null
            ? null
            : Object.fromEntries(study.definition.outputs.map((output, index) => [output.name, entry.outputs![index]]));
        rows.push({
          number: study.nextTrialNumber + rows.length,
          status: outputs === null ? 'failed' : 'completed',
          point: entry.point,
          point_key: key,
          parameters: mapping.toUser(entry.point),
          outputs,
          error: outputs === null ? 'failed evaluation imported from a NOMAD cache file' : null,
        });
      }
      await trialStore.insertFinished(manager, studyId, rows, new Date());
      study.takeTrialNumbers(rows.length);
      await this.tellFinished(manager, study, engine);
      return { imported: rows.length, skipped: evaluations.length - rows.length };
    });
  }

  /**
   * Expired leases of one study (trial ids from the sweeper): each trial still running with its
   * lease expired goes back to pending (attempt + 1) or, its attempts used up, fails (a failed
   * evaluation the engine is told at once). Returns how many were handled.
   */
  async expireLeases(studyId: string, trialIds: readonly string[], now: Date): Promise<number> {
    const handled = await this.store.withLockedStudy(studyId, async (manager, study, engine) => {
      const trials = await trialStore.lockExpired(manager, trialIds, now);
      for (const trial of trials) {
        this.metrics.leaseExpiries.inc();
        await trialStore.expire(manager, trial, study.definition.maxAttempts, study.isOver, now);
      }
      await this.tellFinished(manager, study, engine);
      return trials.length;
    });
    this.changes.notify(studyId);
    return handled;
  }

  /** The figures and stop reason of the study's current engine, with the study row read with them. */
  read(studyId: string): Promise<EngineReading> {
    return this.store.read(studyId);
  }

  /**
   * A new study's initial engine state, built in the engine host: InvalidProblemError and
   * InvalidOptionsError as the algorithm registry throws them; queued as `projectId`'s (EngineHost).
   */
  async initialState(start: EngineStart, projectId: string): Promise<unknown> {
    // Small (the problem, the options, X0): parsed here so that the entity stores an object.
    return JSON.parse(await this.host.create(start, projectId)) as unknown;
  }

  /** The one refusal of enqueue and import on a study that has ended. */
  private assertNotOver(study: LockedStudy, consequence: string): void {
    if (study.isOver) {
      throw new DomainError('STUDY_FINISHED', `study ${study.id} is ${study.status}${consequence}`);
    }
  }

  /**
   * Tells the engine of the locked study every finished, untold trial, stores the engine's reading
   * of each, counts them as evaluations (NOMAD's blackbox evaluations) and ends the study when it
   * is done. Returns the study's trials in flight, counted in the telling statement.
   */
  private async tellFinished(
    manager: EntityManager,
    study: LockedStudy,
    engine: () => Promise<EngineSession>,
  ): Promise<trialStore.TrialsInFlight> {
    const { finished, inFlight } = await trialStore.markFinishedTold(manager, study.id);
    if (finished.length === 0) return inFlight;
    const mapping = mappingOf(study.definition);
    // A failed or early-stopped trial is told with no outputs: NOMAD's failed evaluation (§1.5),
    // f = h = +∞, never a success nor the incumbent, and counted as a blackbox evaluation
    // (docs/algorithm.md, "Early stopping"). A stopped or paused one also carries its decision's
    // lower bound (minimised, as the engine's f): with `censoredModels` the models take it as a
    // censored observation, nothing else does ("Early stopping: what the models learn from a stop").
    const results = finished.map((row) => {
      const outputs = row.status === 'completed' && row.outputs !== null ? mapping.toEngineOutputs(row.outputs) : null;
      const bound = row.early_stop?.lowerBound;
      const censored =
        outputs === null && (row.status === 'stopped' || row.status === 'paused') && Number.isFinite(bound);
      return {
        x: row.point,
        outputs,
        // A resumed trial was told before, paused: its result now is a later value, not an evaluation.
        ...(row.resumes > 0 ? { resumed: true } : {}),
        ...(censored ? { censoredBelow: bound as number } : {}),
      };
    });
    const resume = resumeOptionsOf(study.definition.earlyStopping);
    // The incumbent before these results, for the resume trigger's count (read before they are stored).
    const before = resume === null ? null : await trialStore.best(manager, study.id);
    const session = await engine();
    await session.tell(results);
    // The engine's own reading of each result (f, h, feasible: `evaluateOutputs`, feasible when
    // h < 1e-13), so that `/best` is one indexed row and nobody scores trials again with another rule.
    const outputTypes = mapping.outputTypes();
    const objective: (number | null)[] = [];
    const infeasibility: (number | null)[] = [];
    const feasible: (boolean | null)[] = [];
    for (const result of results) {
      const evaluated = evaluateOutputs(outputTypes, result.outputs);
      const ok = result.outputs !== null && evaluated.ok;
      objective.push(ok ? evaluated.f : null);
      // h is 0 or at least 1e-13 (evaluateOutputs); 0 for every feasible point keeps ix_trials_best's order exact.
      infeasibility.push(ok ? (isFeasible(evaluated.h) ? 0 : evaluated.h) : null);
      feasible.push(ok ? isFeasible(evaluated.h) : null);
    }
    const fresh = finished.flatMap((row, index) => (row.resumes > 0 ? [] : [index]));
    const again = finished.flatMap((row, index) => (row.resumes > 0 ? [index] : []));
    const pick = <T>(values: readonly T[], indices: readonly number[]): T[] => indices.map((index) => values[index]);
    await trialStore.storeEvaluations(
      manager,
      pick(finished, fresh).map((row) => row.id),
      study.evaluationCount + 1,
      pick(objective, fresh),
      pick(infeasibility, fresh),
      pick(feasible, fresh),
    );
    await trialStore.storeResumedEvaluations(
      manager,
      pick(finished, again).map((row) => row.id),
      pick(objective, again),
      pick(infeasibility, again),
      pick(feasible, again),
    );
    // A resumed trial's result is not a new evaluation: the budget counted the point at its pause.
    study.countEvaluations(fresh.length);
    if (resume !== null) {
      let incumbent = before !== null && before.feasible === true ? before.objective : null;
      let count = study.trialsWithoutImprovement;
      finished.forEach((row, index) => {
        const f = objective[index];
        const improved = feasible[index] === true && f !== null && (incumbent === null || f < incumbent);
        if (improved) incumbent = f;
        count = nextStagnation(count, { resumed: row.resumes > 0, improved });
      });
      study.setTrialsWithoutImprovement(count);
    }
    for (const row of finished) this.metrics.finishedTrials.inc({ status: row.status });
    await this.completeIfDone(manager, study, session);
    return inFlight;
  }

  /**
   * What a study with `revive` has left for taking stopped trials up (`reviveAllowed`): its GPU
   * budget (the caller has checked it is not spent), the evaluations its engine left unspent, the
   * engine's restarts on the mesh and the trials taken up so far — all read from stored state.
   */
  private async reviveBudget(
    manager: EntityManager,
    study: LockedStudy,
    session: EngineSession,
  ): Promise<ReviveBudget> {
    return {
      gpuBudgetLeft: this.hasGpuBudget(study),
      evaluationsLeft: Math.max(0, study.definition.maxEvaluations - study.evaluationCount),
      restarts: await session.restartCount(),
      takenUp: await trialStore.countTakenUp(manager, study.id),
    };
  }

  /** The study has a GPU-hour budget (`budget.maxGpuHours`). */
  private hasGpuBudget(study: LockedStudy): boolean {
    return study.definition.maxGpuHours !== null && study.definition.maxGpuHours !== undefined;
  }

  /**
   * The study has a GPU-hour budget and its trials' GPU-seconds (the running total kept with every
   * write of them: trialStore.gpuSecondsUsed, one row by key) have reached it.
   */
  private async gpuBudgetSpent(manager: EntityManager, study: LockedStudy): Promise<boolean> {
    const maxGpuHours = study.definition.maxGpuHours;
    if (maxGpuHours === null || maxGpuHours === undefined) return false;
    return (await trialStore.gpuSecondsUsed(manager, study.id)) >= maxGpuHours * 3600;
  }

  /**
   * Ends an active or paused study when its budget is spent, or when the engine stopped and
   * nothing is in flight: `completed`, or `failed` when every X0 point failed (FINAL_STATUS_OF);
   * its pending and paused trials are stopped. A spent GPU-hour budget ends it once no trial is
   * running and every result is told (docs/algorithm.md, "Budgets: evaluations and GPU-hours"):
   * paused trials are not resumed, as a resume would spend GPU-hours past the budget.
   */
  private async completeIfDone(manager: EntityManager, study: LockedStudy, engine: EngineSession): Promise<boolean> {
    if (study.isOver) return false;
    let reason;
    // With `resume` on, a study whose engine has nothing left to ask goes on while paused or resumed
    // trials remain: they are resumed one per ask (resumeIfDue), without counting evaluations.
    // With `revive` alone, paused trials hold the study open only while it may still take them up
    // once its engine is done (`reviveAllowed`); trials already taken up again always do.
    const resume = resumeOptionsOf(study.definition.earlyStopping) !== null;
    const revive = reviveOf(study.definition.earlyStopping);
    const resuming = async (): Promise<boolean> =>
      (resume || revive) &&
      (await trialStore.countResuming(
        manager,
        study.id,
        resume || (revive && reviveAllowed('exhausted', await this.reviveBudget(manager, study, engine))),
      )) > 0;
    if (await this.gpuBudgetSpent(manager, study)) {
      // A result not told yet is told by its own report's flush, which then ends the study.
      if ((await trialStore.countRunningOrUntold(manager, study.id)) > 0) return false;
      reason =
        study.evaluationCount >= study.definition.maxEvaluations
          ? ('max_evaluations' as const)
          : ('max_gpu_hours' as const);
    } else if (study.evaluationCount >= study.definition.maxEvaluations) {
      if (await resuming()) return false;
      reason = 'max_evaluations' as const;
    } else {
      const stopReason = await engine.stopReason();
      if (stopReason === null) return false;
      if ((await trialStore.countUnsettled(manager, study.id)) > 0) return false;
      if (await resuming()) return false;
      reason = studyStopReason(stopReason);
    }
    const now = new Date();
    study.end(reason, now);
    await trialStore.stopPending(manager, study.id, now);
    return true;
  }
}
