import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Trial } from './trial.entity';

/** An intermediate value reported in a heartbeat (e.g. eval loss at a training step). */
@Entity({ name: 'trial_metrics' })
@Index('uq_trial_metrics_trial_name_step', ['trialId', 'name', 'step'], { unique: true })
export class TrialMetric {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ name: 'trial_id', type: 'uuid' })
  trialId: string;

  @ManyToOne(() => Trial, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'trial_id' })
  trial?: Trial;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'integer' })
  step: number;

  @Column({ type: 'double precision' })
  value: number;

  @CreateDateColumn({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt: Date;
}
