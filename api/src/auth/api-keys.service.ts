import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { IsNull, Repository, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { DomainError, notFound } from '../common/errors/domain-error';
import { ApiKey } from './api-key.entity';
import type { ApiKeyScope } from './api-key-scope';
import { generateApiKey, hashApiKey, keyPrefix } from './api-key-hash';

export interface CreatedApiKey {
  entity: ApiKey;
  /** The plain key, known only at creation. */
  key: string;
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  /** Valid keys by hash, trusted for MESHTUNE_AUTH_CACHE_SECONDS (revocations here drop them at once). */
  private readonly recent: LRUCache<string, ApiKey> | null;

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
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
      await this.insertConfiguredKey(this.config.runnerKey, 'runner (MESHTUNE_RUNNER_KEY)', 'runner');
    }
    if (this.config.adminKey !== null) {
      await this.insertConfiguredKey(this.config.adminKey, 'admin (MESHTUNE_ADMIN_KEY)', 'admin');
      return;
    }
    if ((await this.keys.countBy({ scope: 'admin', revokedAt: IsNull() })) > 0) return;
    const { key } = await this.create('admin (generated on first start)', 'admin', null);
    // Printed once, on purpose: this is the only way to learn a generated bootstrap key.
    process.stdout.write(`\nmeshtune: first start — admin API key (shown once, keep it safe):\n  ${key}\n\n`);
    this.logger.log('generated the first admin API key');
  }

  /**
   * A key given in the environment, stored (hashed) on first start only: a restart does not add it
   * again, and once revoked through the API it stays revoked (delete it from the environment too).
   */
  private async insertConfiguredKey(plain: string, name: string, scope: ApiKeyScope): Promise<void> {
    const keyHash = hashApiKey(plain);
    if ((await this.keys.countBy({ keyHash })) > 0) return;
    await this.keys.insert({ name, scope, keyHash, keyPrefix: keyPrefix(plain), runnerId: null });
  }

  async create(
    name: string,
    scope: ApiKeyScope,
    runnerId: string | null,
    manager?: EntityManager,
  ): Promise<CreatedApiKey> {
    const key = generateApiKey(scope);
    const repository = manager ? manager.getRepository(ApiKey) : this.keys;
    const entity = await repository.save(
      repository.create({ name, scope, keyHash: hashApiKey(key), keyPrefix: keyPrefix(key), runnerId }),
    );
    return { entity, key };
  }

  /** The key's record when it exists and is not revoked, else null. */
  async authenticate(key: string): Promise<ApiKey | null> {
    const keyHash = hashApiKey(key);
    const cached = this.recent?.get(keyHash);
    if (cached !== undefined) return cached;
    const entity = await this.keys.findOneBy({ keyHash });
    if (entity === null || entity.revokedAt !== null) return null;
    this.recent?.set(keyHash, entity);
    return entity;
  }

  async list(limit: number, offset: number): Promise<[ApiKey[], number]> {
    return this.keys.findAndCount({
      where: { revokedAt: IsNull() },
      order: { createdAt: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  async revoke(id: string, callerKeyId: string): Promise<void> {
    const entity = await this.keys.findOneBy({ id, revokedAt: IsNull() });
    if (entity === null) throw notFound('API_KEY_NOT_FOUND', 'API key', id);
    if (entity.id === callerKeyId) {
      throw new DomainError('INVALID_STATUS_TRANSITION', 'an admin key cannot revoke itself; use another admin key');
    }
    await this.keys.update({ id }, { revokedAt: new Date() });
    this.recent?.delete(entity.keyHash);
  }
}
