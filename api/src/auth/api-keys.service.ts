import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { DataSource, IsNull, Not, Repository, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { DomainError, notFound } from '../common/errors/domain-error';
import { inTransaction } from '../database/transaction';
import { DEFAULT_PROJECT_ID } from '../projects/project.entity';
import { ApiKey } from './api-key.entity';
import type { ApiKeyScope } from './api-key-scope';
import {
  chosenKeyFingerprint,
  chosenKeyMatches,
  generateApiKey,
  generatedKeyPrefix,
  hashApiKey,
  hashChosenKey,
  isGeneratedKey,
  newSalt,
  sameKey,
} from './api-key-hash';

export interface CreatedApiKey {
  entity: ApiKey;
  /** The plain key, known only at creation. */
  key: string;
}

export interface NewApiKeyOptions {
  /** Set for runner tokens: the only runner the key may act for. */
  runnerId?: string | null;
  /** The key whose caller minted this one (a runner token's runner-scope key): revoking it revokes this. */
  issuedByKeyId?: string | null;
  /** The project a user key, runner key or runner token acts in (admin keys: none, every project). */
  projectId?: string | null;
  /** The caller's transaction, when the key is created with other rows. */
  manager?: EntityManager;
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  /** Valid keys by SHA-256 of the key (memory only), trusted for MESHTUNE_AUTH_CACHE_SECONDS (revocations here drop them at once). */
  private readonly recent: LRUCache<string, ApiKey> | null;
  /** The chosen keys (MESHTUNE_ADMIN_KEY, MESHTUNE_RUNNER_KEY) and their rows, found (or stored) at start-up. */
  private readonly chosenKeys: { key: string; id: string }[] = [];

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.recent =
      config.authCacheSeconds > 0 ? new LRUCache({ max: 10_000, ttl: config.authCacheSeconds * 1000 }) : null;
  }

  /**
   * The bootstrap keys: MESHTUNE_RUNNER_KEY when set, and the first admin key (MESHTUNE_ADMIN_KEY,
   * or one generated and printed once).
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.runnerKey !== null) {
      await this.registerChosenKey(this.config.runnerKey, 'runner (MESHTUNE_RUNNER_KEY)', 'runner');
    }
    if (this.config.adminKey !== null) {
      await this.registerChosenKey(this.config.adminKey, 'admin (MESHTUNE_ADMIN_KEY)', 'admin');
      return;
    }
    if ((await this.keys.countBy({ scope: 'admin', revokedAt: IsNull() })) > 0) return;
    const { key } = await this.create('admin (generated on first start)', 'admin');
    // Printed once, on purpose: this is the only way to learn a generated bootstrap key.
    process.stdout.write(`\nmeshtune: first start — admin API key (shown once, keep it safe):\n  ${key}\n\n`);
    this.logger.log('generated the first admin API key');
  }

  /**
   * Finds the row of a chosen key (one per variable, told apart by `name`) by its salted hash,
   * upgrades a row stored with SHA-256 by an earlier version (hash and the 12 characters it
   * showed), or stores a new one. A previous key of the same variable (its value changed) is
   * revoked: only the configured one is ever accepted. Once revoked through the API it stays revoked.
   */
  private async registerChosenKey(plain: string, name: string, scope: ApiKeyScope): Promise<void> {
    const variable = name.slice(name.indexOf('(') + 1, -1);
    const salted = await this.keys.find({ where: { keySalt: Not(IsNull()), name }, order: { createdAt: 'DESC' } });
    let id: string | null = null;
    for (const row of salted) {
      if (id === null && (await chosenKeyMatches(plain, row.keySalt!, row.keyHash))) {
        id = row.id;
        if (row.revokedAt !== null) this.logger.warn(`${variable} was revoked through the API; it stays revoked`);
      } else if (row.revokedAt === null) {
        await this.keys.update({ id: row.id }, { revokedAt: new Date() });
        this.logger.warn(`${variable} changed: the previous one (${row.keyPrefix}) is revoked`);
      }
    }
    if (id === null) {
      const keySalt = newSalt();
      const keyHash = await hashChosenKey(plain, keySalt);
      const fields = { keyHash, keySalt, keyPrefix: chosenKeyFingerprint(keyHash) };
      const legacy = await this.keys.findOneBy({ keyHash: hashApiKey(plain) });
      if (legacy !== null) {
        await this.keys.update({ id: legacy.id }, fields);
        id = legacy.id;
      } else {
        const projectId = scope === 'admin' ? null : DEFAULT_PROJECT_ID;
        id = (await this.keys.save(this.keys.create({ name, scope, runnerId: null, projectId, ...fields }))).id;
      }
    }
    this.chosenKeys.push({ key: plain, id });
  }

  async create(name: string, scope: ApiKeyScope, options: NewApiKeyOptions = {}): Promise<CreatedApiKey> {
    const key = generateApiKey(scope);
    const repository = options.manager ? options.manager.getRepository(ApiKey) : this.keys;
    const entity = await repository.save(
      repository.create({
        name,
        scope,
        keyHash: hashApiKey(key),
        keySalt: null,
        keyPrefix: generatedKeyPrefix(key),
        runnerId: options.runnerId ?? null,
        issuedByKeyId: options.issuedByKeyId ?? null,
        // Only admin keys act across projects; every other key needs one (the default when none is named).
        projectId: scope === 'admin' ? null : (options.projectId ?? DEFAULT_PROJECT_ID),
      }),
    );
    return { entity, key };
  }

  /** The key's record when it exists and is not revoked, else null. */
  async authenticate(key: string): Promise<ApiKey | null> {
    const keyHash = hashApiKey(key);
    const cached = this.recent?.get(keyHash);
    if (cached !== undefined) return cached;
    const chosen = this.chosenKeys.find((candidate) => sameKey(key, candidate.key));
    const entity =
      chosen !== undefined
        ? await this.keys.findOneBy({ id: chosen.id })
        : await this.keys.findOneBy({ keyHash, keySalt: IsNull() });
    if (entity === null || entity.revokedAt !== null) return null;
    this.recent?.set(keyHash, entity);
    return entity;
  }

  /**
   * Whether a key could be guessed: the chosen MESHTUNE_ADMIN_KEY and anything not shaped like a
   * generated key. The failed-authentication limiter refuses only these from a limited address.
   */
  isGuessable(key: string): boolean {
    return !isGeneratedKey(key);
  }

  /** `projectId`: only that project's keys (admin keys have none); null: every key. */
  async list(limit: number, offset: number, projectId: string | null = null): Promise<[ApiKey[], number]> {
    return this.keys.findAndCount({
      where: projectId === null ? { revokedAt: IsNull() } : { revokedAt: IsNull(), projectId },
      order: { createdAt: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  /**
   * A runner token may only be minted while the key registering the runner is valid: the row is
   * share-locked until the token is stored, so a concurrent revocation either waits for the token
   * (and revokes it too) or comes first (and registration fails).
   */
  async lockIssuer(manager: EntityManager, keyId: string): Promise<void> {
    const rows = (await manager.query('SELECT id FROM api_keys WHERE id = $1 AND revoked_at IS NULL FOR SHARE', [
      keyId,
    ])) as unknown[];
    if (rows.length === 0) throw new DomainError('UNAUTHENTICATED', 'unknown or revoked API key');
  }

  /** Revokes the key and every runner token minted with it, at once. */
  async revoke(id: string, callerKeyId: string): Promise<void> {
    const revokedHashes = await inTransaction(this.dataSource, async (manager) => {
      const keys = manager.getRepository(ApiKey);
      const entity = await keys.findOne({ where: { id, revokedAt: IsNull() }, lock: { mode: 'pessimistic_write' } });
      if (entity === null) throw notFound('API_KEY_NOT_FOUND', 'API key', id);
      if (entity.id === callerKeyId) {
        throw new DomainError('INVALID_STATUS_TRANSITION', 'an admin key cannot revoke itself; use another admin key');
      }
      const now = new Date();
      await keys.update({ id }, { revokedAt: now });
      // A separate statement after the lock: it sees tokens minted by registrations that held the key's row.
      const [minted] = (await manager.query(
        'UPDATE api_keys SET revoked_at = $2 WHERE issued_by_key_id = $1 AND revoked_at IS NULL RETURNING key_hash',
        [id, now],
      )) as [{ key_hash: string }[], number];
      return [entity.keyHash, ...minted.map((row) => row.key_hash)];
    });
    this.forget(revokedHashes);
  }

  /** The hashes of these runners' tokens: read before the runners are deleted (the tokens go with them). */
  async runnerTokenHashes(manager: EntityManager, runnerIds: readonly string[]): Promise<string[]> {
    if (runnerIds.length === 0) return [];
    const rows = (await manager.query('SELECT key_hash FROM api_keys WHERE runner_id = ANY($1::uuid[])', [
      runnerIds,
    ])) as { key_hash: string }[];
    return rows.map((row) => row.key_hash);
  }

  /** Drops keys revoked or deleted (once committed) from this process's cache: they are refused at once. */
  forget(keyHashes: readonly string[]): void {
    if (this.recent === null || keyHashes.length === 0) return;
    for (const [cachedHash, cached] of this.recent.entries()) {
      if (keyHashes.includes(cached.keyHash)) this.recent.delete(cachedHash);
    }
  }
}
