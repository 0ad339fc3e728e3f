import { Entity, Index } from 'typeorm';
import type { StoredApiKey } from '../../../domain/api-keys.js';
import { IdPrimaryColumn, IntColumn, JsonColumn, TimestampColumn, VarcharColumn } from './columns.js';

/** An API key. Only a hash of the secret is stored (the secret is shown once). */
@Entity({ name: 'api_keys' })
@Index('idx_api_keys_hash', ['hashedSecret'], { unique: true })
export class ApiKeyEntity implements StoredApiKey {
  @IdPrimaryColumn()
  id!: string;

  @VarcharColumn('name', 200)
  name!: string;

  /** sha256 hex of the secret (secrets are 256-bit random, so a fast hash is enough
   *  and lets the gateway look a key up by hash in one indexed query) */
  @VarcharColumn('hashed_secret', 128)
  hashedSecret!: string;

  @JsonColumn('scopes')
  scopes!: string[];

  @IntColumn('rate_limit_per_minute', { nullable: true })
  rateLimitPerMinute!: number | null;

  @TimestampColumn('created_at')
  createdAt!: Date;

  @TimestampColumn('revoked_at', { nullable: true })
  revokedAt!: Date | null;
}
