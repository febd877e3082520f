import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Study } from '../studies/study.entity';
import { Runner } from './runner.entity';

/** Longest decline reason stored and shown (the runner's own text, printable, one line or a few). */
export const MAX_DECLINE_REASON_LENGTH = 1000;

/**
 * A runner that cannot run a study by its own settings (a path outside its folders, a study with
 * no `trainingConfig` for a training runner): the study is not leased to that runner until
 * `declined_at` + `MESHTUNE_RUNNER_DECLINE_MS` (AppConfig.runnerDeclineExpiresAfterMs, an hour;
 * docs/reliability.md, finding 49; docs/runner.md, "Studies a runner cannot run"). One row per
 * (runner, study): a decline only ever keeps that one study from that one runner, so a study's
 * content can exclude itself from a runner but never the runner from other studies. Registering
 * again with its token clears the runner's declines.
 *
 * One clock (finding 54): `declined_at` is written with PostgreSQL's `now()` and every read
 * compares it with `now()` (runner-store.ts, runner-meets-study.ts), so the expiry is the same for
 * every API process whatever its host's clock says.
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
