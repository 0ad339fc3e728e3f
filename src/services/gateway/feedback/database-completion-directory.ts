// The authoritative CompletionDirectory: the `completions` table written by the
// ingest consumer. One indexed `IN (…)` query per request (primary-key lookups).
import { In, type DataSource } from 'typeorm';
import { CompletionEntity } from '../../../platform/persistence/entities/index.js';
import { GatewayError } from '../errors.js';
import type { CompletionDirectory, CompletionOwner } from './completion-directory.js';

export class DatabaseCompletionDirectory implements CompletionDirectory {
  constructor(private readonly dataSource: DataSource) {}

  async lookup(completionIds: readonly string[]): Promise<Map<string, CompletionOwner>> {
    const found = new Map<string, CompletionOwner>();
    if (completionIds.length === 0) return found;
    let rows: Array<Pick<CompletionEntity, 'id' | 'apiKeyId'>>;
    try {
      rows = await this.dataSource
        .getRepository(CompletionEntity)
        .find({ select: { id: true, apiKeyId: true }, where: { id: In([...new Set(completionIds)]) } });
    } catch (err) {
      // Without the lookup we cannot tell 404 from 202; the client retries.
      throw GatewayError.unavailable(`completion lookup failed: ${(err as Error).message}`, 1, 'completion_store_unavailable');
    }
    for (const r of rows) found.set(r.id, { completionId: r.id, apiKeyId: r.apiKeyId });
    return found;
  }
}
