import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Project } from '../projects/project.entity';

/**
 * Open leases a runner that declared no `maxConcurrentTrials` may hold at once: generous for a
 * client that runs a few trials side by side, bounded so that a runner looping on leases without
 * training holds at most this many of its project's trials (docs/architecture.md, "Runner slots").
 * The Python runner declares 1 (it runs one trial at a time), the SDK's worker its `concurrency`.
 */
export const DEFAULT_RUNNER_MAX_CONCURRENT_TRIALS = 16;
/** The most a runner may declare. */
export const MAX_RUNNER_CONCURRENT_TRIALS = 256;

/**
 * `healthy`; `unhealthy` after a runner failure (this machine could not run a trial: data or
 * model missing, no CUDA, disk full) until it completes a trial; `quarantined` after
 * `MESHTUNE_QUARANTINE_AFTER_FAILURES` runner failures in a row within the window: it gets no
 * lease until an operator clears it or it registers again (runners/runner-health.ts); also after
 * `MESHTUNE_QUARANTINE_AFTER_EVALUATION_FAILURES` failed evaluations in a row that other runners
 * did not reproduce.
 */
export const RUNNER_HEALTH_STATES = ['healthy', 'unhealthy', 'quarantined'] as const;
export type RunnerHealthState = (typeof RUNNER_HEALTH_STATES)[number];

@Entity({ name: 'runners' })
export class Runner {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'integer', default: 0 })
  gpus: number;

  @Column({ name: 'gpu_memory_mb', type: 'integer', nullable: true })
  gpuMemoryMb: number | null;

  @Column({ type: 'jsonb' })
  labels: string[];

  /** Open leases it may hold at once (its slots); a lease beyond them is 409 RUNNER_LEASE_LIMIT. */
  @Column({ name: 'max_concurrent_trials', type: 'integer', default: DEFAULT_RUNNER_MAX_CONCURRENT_TRIALS })
  maxConcurrentTrials: number;

  /** The project of the key that registered it: it leases only that project's studies. */
  @Index('ix_runners_project_id')
  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'varchar', length: 16, default: 'healthy' })
  health: RunnerHealthState;

  /** Runner failures in a row (a completed trial resets it), counted from `failureStreakStartedAt`. */
  @Column({ name: 'failure_streak', type: 'integer', default: 0 })
  failureStreak: number;

  /** First failure of the streak; a failure later than the window after it starts a new streak. */
  @Column({ name: 'failure_streak_started_at', type: 'timestamptz', nullable: true })
  failureStreakStartedAt: Date | null;

  /**
   * Failed evaluations in a row (a completed trial resets it), counted from
   * `evaluationFailureStreakStartedAt`: a runner that fails points other runners evaluate fine is
   * quarantined too (`MESHTUNE_QUARANTINE_AFTER_EVALUATION_FAILURES`).
   */
  @Column({ name: 'evaluation_failure_streak', type: 'integer', default: 0 })
  evaluationFailureStreak: number;

  @Column({ name: 'evaluation_failure_streak_started_at', type: 'timestamptz', nullable: true })
  evaluationFailureStreakStartedAt: Date | null;

  /** The last runner failure's error, as the runner reported it. */
  @Column({ name: 'last_failure', type: 'text', nullable: true })
  lastFailure: string | null;

  @Column({ name: 'last_failure_at', type: 'timestamptz', nullable: true })
  lastFailureAt: Date | null;

  @Column({ name: 'quarantined_at', type: 'timestamptz', nullable: true })
  quarantinedAt: Date | null;

  @Column({ name: 'quarantine_reason', type: 'text', nullable: true })
  quarantineReason: string | null;
}
