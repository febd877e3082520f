import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Study } from '../studies/study.entity';
import { Runner } from './runner.entity';

/**
 * How long a runner's decline of a study keeps the study from it (docs/runner.md, "Studies a
 * runner cannot run"): long enough that a runner which cannot run a study does not lease it again
 * and again (one lease an hour at most), short enough that a study whose files appear on the
 * runner later, or a runner whose operator widened its folders, is tried again without anyone
 * clearing anything. A runner that registers again gets a new id and starts with no decline.
 */
export const RUNNER_DECLINE_EXPIRES_AFTER_MS = 60 * 60 * 1000;

/** Longest decline reason stored and shown (the runner's own text, printable, one line or a few). */
export const MAX_DECLINE_REASON_LENGTH = 1000;

/**
 * A runner that cannot run a study by its own settings (a path outside its folders, a study with
 * no `trainingConfig` for a training runner): the study is not leased to that runner until
 * `declined_at + RUNNER_DECLINE_EXPIRES_AFTER_MS` (docs/reliability.md, finding 49). One row per
 * (runner, study): a decline only ever keeps that one study from that one runner, so a study's
 * content can exclude itself from a runner but never the runner from other studies.
 */
@Entity({ name: 'runner_study_declines' })
export class RunnerStudyDecline {
  @PrimaryColumn({ name: 'runner_id', type: 'uuid', primaryKeyConstraintName: 'pk_runner_study_declines' })
  runnerId: string;

  @ManyToOne(() => Runner, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'runner_id', foreignKeyConstraintName: 'fk_runner_study_declines_runner' })
  runner?: Runner;

  /** Also indexed alone: the study's response counts its declines. */
  @Index('ix_runner_study_declines_study_id')
  @PrimaryColumn({ name: 'study_id', type: 'uuid', primaryKeyConstraintName: 'pk_runner_study_declines' })
  studyId: string;

  @ManyToOne(() => Study, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'study_id', foreignKeyConstraintName: 'fk_runner_study_declines_study' })
  study?: Study;

  @Column({ type: 'varchar', length: MAX_DECLINE_REASON_LENGTH })
  reason: string;

  @Column({ name: 'declined_at', type: 'timestamptz' })
  declinedAt: Date;
}
