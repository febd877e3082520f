import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Runner } from '../runners/runner.entity';
import type { ApiKeyScope } from './api-key-scope';

@Entity({ name: 'api_keys' })
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  scope: ApiKeyScope;

  /** SHA-256 of the key: keys are 256-bit random, so a fast hash is enough and lookups stay O(1). */
  @Index('uq_api_keys_key_hash', { unique: true })
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  /** First characters of the key, shown in listings so a person can tell keys apart. */
  @Column({ name: 'key_prefix', type: 'varchar', length: 16 })
  keyPrefix: string;

  /** Set for runner tokens: the only runner this key may act for. */
  @Index('ix_api_keys_runner_id')
  @Column({ name: 'runner_id', type: 'uuid', nullable: true })
  runnerId: string | null;

  @ManyToOne(() => Runner, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'runner_id' })
  runner?: Runner | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
