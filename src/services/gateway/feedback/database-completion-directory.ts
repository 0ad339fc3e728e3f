// The authoritative CompletionDirectory: the `completions` table written by the
// ingest consumer. One indexed `IN (…)` query per request (primary-key lookups).
import type { CompletionOwnership, ICompletionRepository } from '../../../platform/persistence/repositories/index.js';
import { GatewayError } from '../errors.js';
import { completionOwnerOf, type CompletionDirectory, type CompletionOwner } from './completion-directory.js';

export class DatabaseCompletionDirectory implements CompletionDirectory {
  constructor(private readonly completions: ICompletionRepository) {}

  async lookup(completionIds: readonly string[]): Promise<Map<string, CompletionOwner>> {
    const found = new Map<string, CompletionOwner>();
    if (completionIds.length === 0) return found;
    let owners: Map<string, CompletionOwnership>;
    try {
      owners = await this.completions.owners(completionIds);
    } catch (err) {
      // Without the lookup we cannot tell 404 from 202; the client retries.
      throw GatewayError.unavailable(`completion lookup failed: ${(err as Error).message}`, 1, 'completion_store_unavailable');
    }
    for (const [completionId, o] of owners) found.set(completionId, completionOwnerOf({ completionId, ...o }));
    return found;
  }
}
