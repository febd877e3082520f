import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { Runner } from '../runners/runner.entity';
import type { UserPoint } from '../search-space/search-space';
import { Study } from '../studies/study.entity';
import {
  type EarlyStopRecord,
  type TrialAdapter,
  type TrialOrigin,
  type TrialStatus,
  type TrialStopReason,
  UNTOLD_RESULT,
} from './trial-status';

@Entity({ name: 'trials' })
@Index('uq_trials_study_number', ['studyId', 'number'], { unique: true })
@Index('uq_trials_study_point_key', ['studyId', 'pointKey'], { unique: true })
@Index('ix_trials_study_status', ['studyId', 'status'])
@Index('ix_trials_pending', ['createdAt'], { where: "status = 'pending'" })
@Index('ix_trials_running_lease', ['leaseExpiresAt'], { where: "status = 'running'" })
@Index('ix_trials_study_pending', ['studyId', 'createdAt', 'number'], { where: "status = 'pending'" })
@Index('ix_trials_study_running', ['studyId'], { where: "status = 'running'" })
@Index('ix_trials_study_paused', ['studyId', 'resumeScore', 'finishedAt', 'number'], { where: "status = 'paused'" })
// A runner's open leases, counted by every lease (its slots) and by runner reclamation: without
// reading the finished trials of a long-lived runner (ix_trials_runner_id holds them all).
@Index('ix_trials_runner_running', ['runnerId'], { where: "status = 'running'" })
@Index('ix_trials_untold', ['studyId', 'finishedAt'], {
  where: UNTOLD_RESULT,
})
@Index('uq_trials_study_evaluation', ['studyId', 'evaluationNumber'], {
  unique: true,
  where: 'evaluation_number IS NOT NULL',
})
@Index('ix_trials_best', ['studyId', 'infeasibility', 'objective', 'number'], {
  where: 'infeasibility IS NOT NULL',
})
export class Trial {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'study_id', type: 'uuid' })
  studyId: string;

  @ManyToOne(() => Study, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'study_id' })
  study?: Study;

  /** 1, 2, 3… within the study, in creation order. */
  @Column({ type: 'integer' })
  number: number;

  @Column({ type: 'varchar', length: 16 })
  status: TrialStatus;

  @Column({ type: 'varchar', length: 16 })
  origin: TrialOrigin;

  /** The point in engine space (ordinal index, log10 of log-scale reals, …). */
  @Column({ type: 'jsonb' })
  point: number[];

  /** Canonical text of `point`; unique per study so no point is evaluated twice. */
  @Column({ name: 'point_key', type: 'text' })
  pointKey: string;

  /** Values as the runner should use them (derived and fixed parameters included). */
  @Column({ type: 'jsonb' })
  parameters: UserPoint;

  /** The lease number (1, 2, …); `maxAttempts` bounds only the leases lost (trials/store/trial-store.ts: requeue, expire). */
  @Column({ type: 'integer', default: 1 })
  attempt: number;

  /** Leases that ended in a runner failure (the machine, not the point): neither an attempt nor an evaluation. */
  @Column({ name: 'runner_failures', type: 'integer', default: 0 })
  runnerFailures: number;

  @Index('ix_trials_runner_id')
  @Column({ name: 'runner_id', type: 'uuid', nullable: true })
  runnerId: string | null;

  @ManyToOne(() => Runner, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'runner_id' })
  runner?: Runner | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ type: 'double precision', nullable: true })
  progress: number | null;

  /** Reported outputs by name (objective, constraints, extras). */
  @Column({ type: 'jsonb', nullable: true })
  outputs: Record<string, number> | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** Why a `stopped` trial stopped: `early_stopped` (its curve could not beat the threshold); null otherwise (the study ended). */
  @Column({ name: 'stop_reason', type: 'varchar', length: 32, nullable: true })
  stopReason: TrialStopReason | null;

  /** The early-stopping decision that stopped the trial: last observed value, extrapolation, bound, threshold. */
  @Column({ name: 'early_stop', type: 'jsonb', nullable: true })
  earlyStop: EarlyStopRecord | null;

  /**
   * A paused trial's rank for the resume choice, lower first (early-stopping/pause-and-resume.ts,
   * `resumeScore`), computed at the pause from the curve it was paused with (which no longer
   * changes), so that a resume reads the lowest instead of fitting every paused curve again
   * (docs/reliability.md, finding 48). Null for every other trial, and for trials paused before
   * this column existed (scored from their curves at each resume).
   */
  @Column({ name: 'resume_score', type: 'double precision', nullable: true })
  resumeScore: number | null;

  /** The run length the trial's curve is measured against (step / totalSteps = progress), estimated from heartbeats. */
  @Column({ name: 'total_steps', type: 'double precision', nullable: true })
  totalSteps: number | null;

  /**
   * GPU-seconds of every attempt of this trial (GPUs × wall-clock of the training child): the
   * earlier attempts' total plus the latest figure the current (or last) attempt's runner reported.
   */
  @Column({ name: 'gpu_seconds', type: 'double precision', nullable: true })
  gpuSeconds: number | null;

  /**
   * What the attempts before the current one used, in GPU-seconds: set from `gpuSeconds` when a
   * new attempt is leased, since a runner reports the figure of its own attempt only.
   */
  @Column({ name: 'gpu_seconds_earlier_attempts', type: 'double precision', default: 0 })
  gpuSecondsEarlierAttempts: number;

  /**
   * The configuration the runner actually trained with (regime hash, GPU count and type,
   * precision, library versions…), reported on `complete`; opaque JSON, bounded in size.
   */
  @Column({ name: 'effective_config', type: 'jsonb', nullable: true })
  effectiveConfig: Record<string, unknown> | null;

  /** Where the trained adapter of a completed trial lies, reported on `complete`. */
  @Column({ name: 'adapter', type: 'jsonb', nullable: true })
  adapter: TrialAdapter | null;

  /**
   * Memory of each GPU (MiB) a runner needs to lease this trial: one more than the largest GPU it
   * ran out of memory on (`fail` with kind `resource`); null until it ran out of memory.
   */
  @Column({ name: 'min_gpu_memory_mb', type: 'integer', nullable: true })
  minGpuMemoryMb: number | null;

  /** Hash of the final report, so a repeated report can be recognised (idempotency). */
  @Column({ name: 'report_hash', type: 'char', length: 64, nullable: true })
  reportHash: string | null;

  /**
   * Times this trial was resumed after a pause (docs/algorithm.md, "Early stopping: pause and
   * resume"). A resumed trial's result is told to the engine again without counting an evaluation,
   * and its next early stop is final.
   */
  @Column({ name: 'resumes', type: 'integer', default: 0 })
  resumes: number;

  /** Whether the suggestion algorithm has been told this trial's result (exactly once). */
  @Column({ name: 'told', type: 'boolean', default: false })
  told: boolean;

  /**
   * 1, 2, 3… in the order the engine was told the results (set with `told`, under the study
   * lock, so it only grows): the history's order and its cursor. Null until told.
   */
  @Column({ name: 'evaluation_number', type: 'integer', nullable: true })
  evaluationNumber: number | null;

  /**
   * The engine's reading of a completed trial, stored when it is told (mads/evaluation.ts
   * `evaluateOutputs`): `objective` is f, minimised (a maximised objective negated);
   * `infeasibility` is h, 0 exactly when `feasible` (h below 1e-13). Null for failed or untold
   * trials. `/best` is the first row of ix_trials_best: feasible (h = 0) by f, then by h and f.
   */
  @Column({ type: 'double precision', nullable: true })
  objective: number | null;

  @Column({ type: 'double precision', nullable: true })
  infeasibility: number | null;

  @Column({ type: 'boolean', nullable: true })
  feasible: boolean | null;

  @Column({ name: 'last_heartbeat_at', type: 'timestamptz', nullable: true })
  lastHeartbeatAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
