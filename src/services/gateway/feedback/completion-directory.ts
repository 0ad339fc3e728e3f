// Who owns a completion? Feedback is accepted only about a completion that
// exists (404 otherwise) and that was issued to the caller's API key (403).
//
// The authoritative record is the `completions` table, but it is filled
// asynchronously by the ingest consumer, so a user who clicks thumbs-up right
// after the answer would get a 404 for a completion the gateway served a moment
// ago. The gateway therefore also remembers, in a bounded in-memory index, the
// completions *this process* served recently, and the directory consults that
// index before the table.
//
// Distributed-mode caveat: the index is per gateway replica. With several
// replicas behind a load balancer, feedback that lands on another replica than
// the chat within the ingest lag (normally well under a second) sees a 404 with
// code `completion_not_found` — the response says the completion may still be
// in flight, and clients should retry once after `Retry-After`. Sticky routing
// by API key removes the window; a shared cache (Redis) would too, at the cost
// of another dependency we chose not to take.

export interface CompletionOwner {
  completionId: string;
  /** the API key the completion was issued to; null when served without auth */
  apiKeyId: string | null;
}

/** Port: look up the owners of completions; ids not found are absent from the map. */
export interface CompletionDirectory {
  lookup(completionIds: readonly string[]): Promise<Map<string, CompletionOwner>>;
}

export const COMPLETION_DIRECTORY = Symbol('COMPLETION_DIRECTORY');

/**
 * Bounded LRU of completions served by this process. Map iteration order is
 * insertion order, so the first key is the least recently remembered/used.
 */
export class RecentCompletionIndex implements CompletionDirectory {
  private readonly owners = new Map<string, string | null>();

  constructor(readonly capacity = 100_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** Called by the chat path once a completion has been published. */
  remember(completionId: string, apiKeyId: string | null): void {
    this.owners.delete(completionId);
    this.owners.set(completionId, apiKeyId);
    if (this.owners.size > this.capacity) {
      const oldest = this.owners.keys().next().value as string;
      this.owners.delete(oldest);
    }
  }

  get size(): number {
    return this.owners.size;
  }

  async lookup(completionIds: readonly string[]): Promise<Map<string, CompletionOwner>> {
    return this.lookupSync(completionIds);
  }

  lookupSync(completionIds: readonly string[]): Map<string, CompletionOwner> {
    const found = new Map<string, CompletionOwner>();
    for (const id of completionIds) {
      if (this.owners.has(id)) found.set(id, { completionId: id, apiKeyId: this.owners.get(id) ?? null });
    }
    return found;
  }
}

/** Recent index first (no I/O on the hot path), then the authoritative store for the misses; store hits are remembered. */
export class LayeredCompletionDirectory implements CompletionDirectory {
  constructor(
    private readonly recent: RecentCompletionIndex,
    private readonly store: CompletionDirectory,
  ) {}

  async lookup(completionIds: readonly string[]): Promise<Map<string, CompletionOwner>> {
    const found = this.recent.lookupSync(completionIds);
    const missing = [...new Set(completionIds.filter((id) => !found.has(id)))];
    if (missing.length === 0) return found;
    const fromStore = await this.store.lookup(missing);
    for (const [id, owner] of fromStore) {
      found.set(id, owner);
      // A completion's owner never changes, so a store hit is safe to keep: the next
      // feedback on it (ratings often come in bursts) costs no database round trip.
      // Misses are not cached — the completion may be ingested a moment later.
      this.recent.remember(id, owner.apiKeyId);
    }
    return found;
  }
}
