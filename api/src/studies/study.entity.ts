import type { StoppingPolicy } from '../early-stopping';
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
import { Project } from '../projects/project.entity';
import type { AlgorithmName } from '../optimizer-contract/algorithm';
import type { DerivedParameter, OutputDefinition, ParameterDefinition, UserPoint } from '../search-space/search-space';
import type { StudyStatus, StudyStopReason } from './study-status';

@Entity({ name: 'studies' })
@Index('ix_studies_status_created_at', ['status', 'createdAt'])
@Index('ix_studies_project_status', ['projectId', 'status'])
export class Study {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: StudyStatus;

  @Column({ name: 'stop_reason', type: 'varchar', length: 32, nullable: true })
  stopReason: StudyStopReason | null;

  @Column({ type: 'jsonb' })
  parameters: ParameterDefinition[];

  @Column({ type: 'jsonb' })
  derived: DerivedParameter[];

  @Column({ type: 'jsonb' })
  outputs: OutputDefinition[];

  @Column({ type: 'jsonb' })
  x0: UserPoint[];

  @Column({ name: 'max_evaluations', type: 'integer' })
  maxEvaluations: number;

  /**
   * The study's budget in GPU-hours (`budget.maxGpuHours`); null: none. Checked against the running
   * total of its trials' GPU-seconds (study_gpu_usage, kept by a trigger on trials.gpu_seconds).
   */
  @Column({ name: 'max_gpu_hours', type: 'double precision', nullable: true })
  maxGpuHours: number | null;

  @Column({ name: 'max_parallel_trials', type: 'integer' })
  maxParallelTrials: number;

  @Column({ name: 'max_attempts', type: 'integer' })
  maxAttempts: number;

  @Column({ name: 'lease_seconds', type: 'integer' })
  leaseSeconds: number;

  @Column({ type: 'varchar', length: 16 })
  algorithm: AlgorithmName;

  @Column({ name: 'algorithm_options', type: 'jsonb' })
  algorithmOptions: Record<string, unknown>;

  @Column({ type: 'integer' })
  seed: number;

  /**
   * When a running trial is stopped early (docs/algorithm.md, "Early stopping"): chosen at
   * creation, validated by `parseStoppingPolicy`; `none` for NOMAD imports and older studies.
   */
  @Column({ name: 'early_stopping', type: 'jsonb', default: () => `'{"kind": "none"}'` })
  earlyStopping: StoppingPolicy;

  @Column({ name: 'training_config', type: 'jsonb' })
  trainingConfig: Record<string, unknown>;

  /**
   * A snapshot of the suggestion algorithm's JSON state, as of `engineSnapshotVersion`; the
   * operations since then are rows of engine_events (engine/engine-store.ts).
   */
  @Column({ name: 'engine_state', type: 'jsonb' })
  engineState: unknown;

  /** Operations (ask, tell, mark in flight) applied to the engine so far; changes only with the row locked. */
  @Column({ name: 'engine_version', type: 'integer', default: 0 })
  engineVersion: number;

  /** The engine version `engineState` was written at. */
  @Column({ name: 'engine_snapshot_version', type: 'integer', default: 0 })
  engineSnapshotVersion: number;

  /** Number given to the next trial of this study. */
  @Column({ name: 'next_trial_number', type: 'integer', default: 1 })
  nextTrialNumber: number;

  /** Trials that ended completed or failed: NOMAD's blackbox evaluation count. */
  @Column({ name: 'evaluation_count', type: 'integer', default: 0 })
  evaluationCount: number;

  /**
   * Told results in a row that did not improve the incumbent, since the last improvement or resume
   * (early stopping with `resume`: pause-and-resume.ts, `nextStagnation`); 0 for other policies.
   */
  @Column({ name: 'trials_without_improvement', type: 'integer', default: 0 })
  trialsWithoutImprovement: number;

  /** The project that owns the study: only its keys and runners see it (projects/project-scope.ts). */
  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  /** Labels a runner must all have registered to lease this study's trials (e.g. `a100`, `80g`); [] for any runner. */
  @Column({ name: 'required_runner_labels', type: 'jsonb', default: () => "'[]'" })
  requiredRunnerLabels: string[];

  /** GPUs a runner must have registered to lease this study's trials; null for any runner. */
  @Column({ name: 'required_runner_gpus', type: 'integer', nullable: true })
  requiredRunnerGpus: number | null;

  /**
   * Memory of each GPU (MiB) a runner must have registered to lease this study's trials; null for
   * any runner. A runner that registered no `gpuMemoryMb` does not meet it.
   */
  @Column({ name: 'required_runner_gpu_memory_mb', type: 'integer', nullable: true })
  requiredRunnerGpuMemoryMb: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;
}
