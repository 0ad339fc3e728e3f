// API keys (the `api_keys` table): only a hash of each secret is stored.
import type { StoredApiKey } from '../../../domain/api-keys.js';
import { ApiKeyEntity } from '../entities/api-key.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface IApiKeyRepository {
  insert(key: StoredApiKey): Promise<void>;
  /** Mark a key revoked; returns whether it exists. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** One indexed lookup (the unique index on hashed_secret). */
  findByHash(hashedSecret: string): Promise<StoredApiKey | null>;
}

export class TypeOrmApiKeyRepository extends TypeOrmScope implements IApiKeyRepository {
  async insert(key: StoredApiKey): Promise<void> {
    await this.write((m) => m.getRepository(ApiKeyEntity).insert(key));
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    const r = await this.write((m) => m.getRepository(ApiKeyEntity).update({ id }, { revokedAt: at }));
    return (r.affected ?? 0) > 0;
  }

  findByHash(hashedSecret: string): Promise<StoredApiKey | null> {
    return this.manager.getRepository(ApiKeyEntity).findOne({ where: { hashedSecret } });
  }
}
