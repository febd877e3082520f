import { FINAL_STATUS_OF, isFinishedStudy, type StudyStatus, type StudyStopReason } from '../studies/study-status';
import type { Study } from '../studies/study.entity';

/**
 * A study row locked FOR UPDATE by an engine command (EngineStore.withLockedStudy). Its definition
 * is read-only; the columns that change while a study runs change only through the methods below,
 * each recording the column it sets, and EngineStore writes exactly those (with the engine's
 * events) in one statement before the commit.
 */
export class LockedStudy {
  private readonly changes = new Map<string, unknown>();

  constructor(private readonly row: Study) {}

  /** The study as locked, with the changes made so far (never to be changed directly). */
  get definition(): Readonly<Study> {
    return this.row;
  }

  get id(): string {
    return this.row.id;
  }

  get status(): StudyStatus {
    return this.row.status;
  }

  get isActive(): boolean {
    return this.row.status === 'active';
  }

  /** The study has ended for good (completed, failed or stopped): no lease, enqueue or import. */
  get isOver(): boolean {
    return isFinishedStudy(this.row.status);
  }

  get evaluationCount(): number {
    return this.row.evaluationCount;
  }

  get nextTrialNumber(): number {
    return this.row.nextTrialNumber;
  }

  /** Evaluations told to the engine (NOMAD's blackbox evaluations). */
  countEvaluations(count: number): void {
    if (count === 0) return;
    this.set('evaluation_count', (this.row.evaluationCount += count));
  }

  /** Told results in a row without improving the incumbent (the resume trigger: pause-and-resume.ts). */
  get trialsWithoutImprovement(): number {
    return this.row.trialsWithoutImprovement;
  }

  setTrialsWithoutImprovement(count: number): void {
    if (count === this.row.trialsWithoutImprovement) return;
    this.set('trials_without_improvement', (this.row.trialsWithoutImprovement = count));
  }

  /** Trial numbers taken by new trials. */
  takeTrialNumbers(count: number): void {
    if (count === 0) return;
    this.set('next_trial_number', (this.row.nextTrialNumber += count));
  }

  /** Ends the study for `reason`, in the status that reason means (FINAL_STATUS_OF). */
  end(reason: StudyStopReason, at: Date): void {
    this.set('status', (this.row.status = FINAL_STATUS_OF[reason]));
    this.set('stop_reason', (this.row.stopReason = reason));
    this.set('completed_at', (this.row.completedAt = at));
  }

  /** The columns set by the methods above, by column name. */
  changedColumns(): ReadonlyMap<string, unknown> {
    return this.changes;
  }

  private set(column: string, value: unknown): void {
    this.changes.set(column, value);
  }
}
