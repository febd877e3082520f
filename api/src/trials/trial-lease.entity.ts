import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Trial } from './trial.entity';

/**
 * `runner_failed`: the runner reported that its machine cannot run trials; `quarantined`: the
 * runner was quarantined while it held the lease. Neither uses one of the trial's attempts.
 * `resource_failed`: the trial ran out of GPU memory on this runner and went back to pending for a
 * runner with more (trial store `requeue`); it uses no attempt either.
 * `early_stopped`: the trial was stopped on a heartbeat (trial store `stopEarly`).
 */
export const LEASE_OUTCOMES = [
  'completed',
  'failed',
  'expired',
  'released',
  'stopped',
  'early_stopped',
  'runner_failed',
  'quarantined',
  'resource_failed',
] as const;
export type LeaseOutcome = (typeof LEASE_OUTCOMES)[number];

/** One attempt of a trial: which runner held it and how the lease ended. */
@Entity({ name: 'trial_leases' })
@Index('uq_trial_leases_trial_attempt', ['trialId', 'attempt'], { unique: true })
export class TrialLease {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ name: 'trial_id', type: 'uuid' })
  trialId: string;

  @ManyToOne(() => Trial, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'trial_id' })
  trial?: Trial;

  @Column({ type: 'integer' })
  attempt: number;

  @Index('ix_trial_leases_runner_id')
  @Column({ name: 'runner_id', type: 'uuid' })
  runnerId: string;

  @Column({ name: 'leased_at', type: 'timestamptz' })
  leasedAt: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  outcome: LeaseOutcome | null;
}
