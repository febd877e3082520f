import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { OutputType } from '../optimizer-contract/algorithm';
import { preparedQuery } from '../database/prepared-query';
import { evaluateOutputs, isFeasible } from '../mads/evaluation';
import { MetricsService } from '../metrics/metrics.service';
import type { EngineSession } from '../studies/engine/engine-session';
import { EngineStore } from '../studies/engine/engine-store';
import { StudyChanges } from '../studies/study-changes';
import { mappingOf, studyStopReason } from '../studies/study-engine';
import { FINAL_STATUS_OF, isFinishedStudy } from '../studies/study-status';
import type { Study } from '../studies/study.entity';
import { UNTOLD_RESULT } from './trial-status';

interface FinishedRow {
  id: string;
  /** `stopped`: stopped early (UNTOLD_RESULT), told as a failed evaluation. */
  status: 'completed' | 'failed' | 'stopped';
  point: number[];
  outputs: Record<string, number> | null;
  finished_at: Date;
  number: number;
}

/** A study's trials that hold budget without being told yet. */
export interface TrialsInFlight {
  running: number;
  pending: number;
  /** Finished, stored, and not told yet (reports committed after the telling statement). */
  untold: number;
}

/**
 * Turns finished trials into evaluations. A report only stores the trial's result (told =
 * false); the study's engine is told with the study row locked, every untold result at once in
 * the order they finished, and each trial is marked told in that transaction (exactly once).
 * That happens before every ask (so the engine decides on every result it can have) and right
 * after reports: reports arriving together share one such "flush" (group commit).
 */
@Injectable()
export class TrialOutcomes {
  private readonly logger = new Logger(TrialOutcomes.name);
  /** Per study: the flush running now, and the one queued behind it (shared by its callers). */
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly engines: EngineStore,
    private readonly changes: StudyChanges,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Tells the engine of a study locked by the caller every finished, untold trial, counts them
   * as evaluations (NOMAD's blackbox evaluations) and ends the study when it is done. Returns
   * the study's trials in flight, counted in the same statement (so each trial is counted once
   * even while reports commit around it).
   */
  async tellFinished(
    manager: EntityManager,
    study: Study,
    engine: () => Promise<EngineSession>,
  ): Promise<TrialsInFlight> {
    const rows = (await preparedQuery(
      manager,
      {
        name: 'trials-tell-finished',
        text: `WITH told AS (
         UPDATE trials SET told = true
          WHERE study_id = $1 AND ${UNTOLD_RESULT}
         RETURNING id, status, point, outputs, finished_at, number
       )
       SELECT told.*, counts.*
         FROM (SELECT (SELECT COUNT(*)::int FROM trials WHERE study_id = $1 AND status = 'running') AS running,
                      (SELECT COUNT(*)::int FROM trials WHERE study_id = $1 AND status = 'pending') AS pending,
                      (SELECT COUNT(*)::int FROM trials
                        WHERE study_id = $1 AND ${UNTOLD_RESULT}) AS untold) counts
         LEFT JOIN told ON true`,
      },
      [study.id],
    )) as (FinishedRow & TrialsInFlight)[];
    const finished = rows
      .filter((row) => row.id !== null)
      .sort((a, b) => a.finished_at.getTime() - b.finished_at.getTime() || a.number - b.number);
    // The counts saw the statement's starting point, where the trials told now were still untold.
    const inFlight = { running: rows[0].running, pending: rows[0].pending, untold: rows[0].untold - finished.length };
    if (finished.length === 0) return inFlight;
    const mapping = mappingOf(study);
    // A failed or early-stopped trial is told with no outputs: NOMAD's failed evaluation (§1.5),
    // f = h = +∞, never a success nor the incumbent, kept out of the models and Nelder–Mead, and
    // counted as a blackbox evaluation (docs/algorithm.md, "Early stopping").
    const results = finished.map((row) => ({
      x: row.point,
      outputs: row.status === 'completed' && row.outputs !== null ? mapping.toEngineOutputs(row.outputs) : null,
    }));
    const session = await engine();
    session.tell(results);
    await this.storeEvaluations(manager, study, finished, results, mapping.outputTypes());
    study.evaluationCount += finished.length;
    for (const row of finished) this.metrics.finishedTrials.inc({ status: row.status });
    await this.completeIfDone(manager, study, session);
    return inFlight;
  }

  /**
   * Stores, with the telling, each result's place in the order told (the history's cursor) and
   * the engine's own reading of it (f, h, feasible: `evaluateOutputs`, feasible when h < 1e-13),
   * so that `/best` is one indexed row and nobody scores trials again with another rule.
   */
  private async storeEvaluations(
    manager: EntityManager,
    study: Study,
    finished: readonly FinishedRow[],
    results: readonly { outputs: number[] | null }[],
    outputTypes: readonly OutputType[],
  ): Promise<void> {
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
    await preparedQuery(
      manager,
      {
        name: 'trials-store-evaluations',
        text: `UPDATE trials t
          SET evaluation_number = e.n, objective = e.f, infeasibility = e.h, feasible = e.feasible
         FROM unnest($1::uuid[], $2::int[], $3::float8[], $4::float8[], $5::bool[]) AS e(id, n, f, h, feasible)
        WHERE t.id = e.id`,
      },
      [
        finished.map((row) => row.id),
        finished.map((_row, index) => study.evaluationCount + index + 1),
        objective,
        infeasibility,
        feasible,
      ],
    );
  }

  /**
   * Tells a study's engine the results stored so far, in a transaction of its own. Resolves once
   * a flush that started after this call has committed; calls made while one runs share the next.
   */
  flush(studyId: string): Promise<void> {
    const queued = this.queued.get(studyId);
    if (queued !== undefined) return queued;
    const start = (): Promise<void> => {
      this.queued.delete(studyId);
      // An engine ask since the report tells every stored result: often nothing is left to tell.
      const flushing = this.hasUntold(studyId)
        .then(async (untold) => {
          if (untold) {
            await this.engines.withLockedStudy(studyId, (manager, study, engine) =>
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

  private async hasUntold(studyId: string): Promise<boolean> {
    const [{ untold }] = (await preparedQuery(
      this.dataSource,
      {
        name: 'trials-has-untold',
        text: `SELECT EXISTS (SELECT 1 FROM trials
                       WHERE study_id = $1 AND ${UNTOLD_RESULT}) AS untold`,
      },
      [studyId],
    )) as { untold: boolean }[];
    return untold;
  }

  /** `flush`, for callers whose result is already stored: a failure is logged, the result is told later. */
  async flushQuietly(studyId: string): Promise<void> {
    await this.flush(studyId).catch((error: unknown) =>
      this.logger.warn({
        message: 'telling stored results failed; they are told at the next ask',
        studyId,
        error: String(error),
      }),
    );
  }

  /**
   * Ends an active or paused study when its budget is spent, or when the engine stopped and
   * nothing is in flight: `completed`, or `failed` when every X0 point failed (FINAL_STATUS_OF).
   */
  async completeIfDone(manager: EntityManager, study: Study, engine: EngineSession): Promise<boolean> {
    if (isFinishedStudy(study.status)) return false;
    if (study.evaluationCount >= study.maxEvaluations) {
      study.stopReason = 'max_evaluations';
    } else if (engine.stopReason !== null) {
      const [{ count }] = (await manager.query(
        `SELECT COUNT(*)::int AS count FROM trials WHERE study_id = $1
            AND (status IN ('pending', 'running') OR (${UNTOLD_RESULT}))`,
        [study.id],
      )) as { count: number }[];
      if (count > 0) return false;
      study.stopReason = studyStopReason(engine.stopReason);
    } else {
      return false;
    }
    study.status = FINAL_STATUS_OF[study.stopReason];
    study.completedAt = new Date();
    await manager.query(
      `UPDATE trials SET status = 'stopped', finished_at = $2, updated_at = $2 WHERE study_id = $1 AND status = 'pending'`,
      [study.id, study.completedAt],
    );
    return true;
  }
}
