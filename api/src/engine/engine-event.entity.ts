import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Study } from '../studies/study.entity';
import type { EngineOperation } from './engine-operation';

/** The operation that took a study's engine from `version - 1` to `version`. */
@Entity({ name: 'engine_events' })
export class EngineEvent {
  @PrimaryColumn({ name: 'study_id', type: 'uuid' })
  studyId: string;

  @ManyToOne(() => Study, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'study_id' })
  study?: Study;

  @PrimaryColumn({ type: 'integer' })
  version: number;

  @Column({ type: 'jsonb' })
  operation: EngineOperation;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
