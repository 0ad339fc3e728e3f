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

import { createHash } from 'node:crypto';

export interface CompletionOwner {
  completionId: string;
  /** the API key the completion was issued to; null when served without auth */
  apiKeyId: string | null;
  /** the side-by-side request (n ≥ 2) it was one answer of; null for a single answer */
  comparisonId: string | null;
  /** promptFingerprint() of the messages it answered */
  promptFingerprint: string;
}

/**
 * Identifies the prompt a completion answered: a pairwise preference between two
 * completions means something only if both answered the same prompt.
 */
export function promptFingerprint(messages: ReadonlyArray<{ role: string; content: string }>): string {
  const h = createHash('sha256');
  for (const m of messages) h.update(m.role).update('\u0000').update(m.content).update('\u0001');
  return h.digest('base64url');
}

/** The owner record of a logged completion (event or row). */
export function completionOwnerOf(c: {
  completionId: string;
  apiKeyId: string | null;
  comparisonId: string | null;
  messages: ReadonlyArray<{ role: string; content: string }>;
}): CompletionOwner {
  return { completionId: c.completionId, apiKeyId: c.apiKeyId, comparisonId: c.comparisonId, promptFingerprint: promptFingerprint(c.messages) };
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
  private readonly owners = new Map<string, CompletionOwner>();

  constructor(readonly capacity = 100_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** Called by the chat path once a completion has been published. */
  remember(owner: CompletionOwner): void {
    this.owners.delete(owner.completionId);
    this.owners.set(owner.completionId, owner);
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
      const owner = this.owners.get(id);
      if (owner) found.set(id, owner);
    }
    return found;
  }
}

/**
 * Recent index first (no I/O on the hot path), then the authoritative store for the
 * misses; store hits are remembered.
 *
 * Misses are batched: every id missed by requests handled in the same turn of the
 * event loop goes to the store in one `IN (…)` query, and a request whose id is
 * already being looked up waits for that query instead of sending its own
 * (DataLoader's batching + single flight). Measured in the ingest bench: with 64
 * clients on completions this replica never served, one query per request cost
 * ~7% of the gateway's CPU and, through the pool's 10 connections, queued requests
 * behind each other while the cache warmed.
 */
export class LayeredCompletionDirectory implements CompletionDirectory {
  /** ids being looked up in the store → the query's outcome for that id (undefined = not found) */
  private readonly inFlight = new Map<string, Promise<CompletionOwner | undefined>>();
  /** ids waiting for the next store query, with the settle functions of their promises */
  private queued = new Map<string, { resolve: (owner: CompletionOwner | undefined) => void; reject: (err: unknown) => void }>();
  private flushScheduled = false;

  constructor(
    private readonly recent: RecentCompletionIndex,
    private readonly store: CompletionDirectory,
    /** upper bound on ids in one store query (keeps the IN list and its plan small) */
    private readonly maxIdsPerQuery = 1000,
  ) {
    if (!Number.isInteger(maxIdsPerQuery) || maxIdsPerQuery < 1) throw new RangeError(`maxIdsPerQuery must be a positive integer, got ${maxIdsPerQuery}`);
  }

  async lookup(completionIds: readonly string[]): Promise<Map<string, CompletionOwner>> {
    const found = this.recent.lookupSync(completionIds);
    if (found.size === completionIds.length) return found;
    const pending: Array<Promise<CompletionOwner | undefined>> = [];
    for (const id of new Set(completionIds)) if (!found.has(id)) pending.push(this.fromStore(id));
    for (const owner of await Promise.all(pending)) if (owner) found.set(owner.completionId, owner);
    return found;
  }

  private fromStore(id: string): Promise<CompletionOwner | undefined> {
    const existing = this.inFlight.get(id);
    if (existing) return existing;
    const promise = new Promise<CompletionOwner | undefined>((resolve, reject) => this.queued.set(id, { resolve, reject }));
    this.inFlight.set(id, promise);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate, not a microtask: requests parsed in the same I/O phase join the batch
      setImmediate(() => this.flush());
    }
    return promise;
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queued;
    this.queued = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += this.maxIdsPerQuery) void this.query(ids.slice(i, i + this.maxIdsPerQuery), batch);
  }

  private async query(ids: string[], waiters: Map<string, { resolve: (owner: CompletionOwner | undefined) => void; reject: (err: unknown) => void }>): Promise<void> {
    try {
      const owners = await this.store.lookup(ids);
      for (const id of ids) {
        const owner = owners.get(id);
        // A completion's owner never changes, so a store hit is safe to keep: the next
        // feedback on it (ratings often come in bursts) costs no database round trip.
        // Misses are not cached — the completion may be ingested a moment later.
        if (owner) this.recent.remember(owner);
        this.inFlight.delete(id);
        waiters.get(id)!.resolve(owner);
      }
    } catch (err) {
      // every request waiting on this query gets the store's error (a 503: retry)
      for (const id of ids) {
        this.inFlight.delete(id);
        waiters.get(id)!.reject(err);
      }
    }
  }
}
