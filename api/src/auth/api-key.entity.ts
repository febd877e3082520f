import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Project } from '../projects/project.entity';
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

  /**
   * Generated keys (256 random bits): SHA-256 of the key, so a fast hash is enough and lookups
   * stay O(1). The chosen MESHTUNE_ADMIN_KEY: scrypt of the key with `keySalt` (api-key-hash.ts).
   */
  @Index('uq_api_keys_key_hash', { unique: true })
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  /** Set for a chosen key (hashed with scrypt and this salt); null for generated keys (SHA-256). */
  @Column({ name: 'key_salt', type: 'varchar', length: 64, nullable: true })
  keySalt: string | null;

  /**
   * Shown in listings so a person can tell keys apart: `mt_<scope>_` and a few random characters
   * for generated keys; a fingerprint of the salted hash for a chosen key (never its characters).
   */
  @Column({ name: 'key_prefix', type: 'varchar', length: 16 })
  keyPrefix: string;

  /**
   * The runner-scope key that registered this runner token: revoking that key revokes the
   * tokens it minted. Null for keys created by an admin and for tokens minted before 2026-12.
   */
  @Index('ix_api_keys_issued_by')
  @Column({ name: 'issued_by_key_id', type: 'uuid', nullable: true })
  issuedByKeyId: string | null;

  /** Set for runner tokens: the only runner this key may act for. */
  @Index('ix_api_keys_runner_id')
  @Column({ name: 'runner_id', type: 'uuid', nullable: true })
  runnerId: string | null;

  @ManyToOne(() => Runner, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'runner_id' })
  runner?: Runner | null;

  /**
   * The project a user key, runner key or runner token acts in (it sees only that project's
   * studies and runners); null for admin keys, which see every project.
   */
  @Index('ix_api_keys_project_id')
  @Column({ name: 'project_id', type: 'uuid', nullable: true })
  projectId: string | null;

  @ManyToOne(() => Project, { onDelete: 'RESTRICT', nullable: true })
  @JoinColumn({ name: 'project_id' })
  project?: Project | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
