import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The project every study, user key, runner key and runner belongs to before anything existed:
 * the migration that introduced projects (migrations/*-Projects.ts) creates it with this id and
 * gives it every existing row, so single-team use goes on unchanged.
 */
export const DEFAULT_PROJECT_ID = '00000000-0000-4000-8000-000000000001';
export const DEFAULT_PROJECT_NAME = 'default';

/** A project's `maxRunners` unless an admin sets another (docs/architecture.md, "Projects"). */
export const DEFAULT_PROJECT_MAX_RUNNERS = 1000;

/**
 * A project's `maxStoredStudies` unless an admin sets another. A study at the DTO's limits takes
 * about 4.2 MB of database (docs/reliability.md, finding 27), so 1000 bound a project's
 * definitions to about 4 GB at worst, while a team that keeps every study it ran for months stays
 * far below it.
 */
export const DEFAULT_PROJECT_MAX_STORED_STUDIES = 1000;

/** A team's share of the instance: its studies, keys and runners see only each other (docs/architecture.md, "Projects"). */
@Entity({ name: 'projects' })
export class Project {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('uq_projects_name', { unique: true })
  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** Most studies of the project with status `active` at once; null: no quota. */
  @Column({ name: 'max_active_studies', type: 'integer', nullable: true })
  maxActiveStudies: number | null;

  /** Most running trials over all the project's studies at once; null: no quota. */
  @Column({ name: 'max_parallel_trials', type: 'integer', nullable: true })
  maxParallelTrials: number | null;

  /**
   * Most runners registered in the project; never null (a runner table without bound is what it
   * prevents). At the quota a registration first reclaims runners that hold no lease and were not
   * seen for RUNNER_RECLAIMABLE_AFTER_MS (runners/runner-liveness.ts), then answers 409.
   */
  @Column({ name: 'max_runners', type: 'integer', default: DEFAULT_PROJECT_MAX_RUNNERS })
  maxRunners: number;

  /**
   * Most studies of the project stored at once, of every status; never null (rows that legal
   * requests add must have a bound, finding 27). At the quota a creation answers 409 until a
   * finished study is deleted.
   */
  @Column({ name: 'max_stored_studies', type: 'integer', default: DEFAULT_PROJECT_MAX_STORED_STUDIES })
  maxStoredStudies: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
