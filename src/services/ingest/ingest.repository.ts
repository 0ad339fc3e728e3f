// What the ingest consumers write: events become rows (completionRow, feedbackRow),
// repeats within a batch are dropped, and the completion and feedback repositories
// insert them idempotently (a redelivered event is a no-op: the primary key is the
// event id). How the rows reach the database is the repositories' business.
import type { CompletionRecord } from '../../domain/completions.js';
import type { FeedbackRecord } from '../../domain/feedback.js';
import type { CompletionEvent, FeedbackEvent } from '../../platform/messaging/events.js';
import type { ICompletionRepository, IFeedbackRepository } from '../../platform/persistence/repositories/index.js';

export interface InsertCounts {
  /** rows newly written */
  inserted: number;
  /** events not written because their id was already present (redelivery, client replay, repeats in the batch) */
  duplicates: number;
}

/** Keep the first occurrence of each id (a batch may carry a producer retry twice). */
function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => (seen.has(key(t)) ? false : (seen.add(key(t)), true)));
}

export function completionRow(e: CompletionEvent, ingestedAt: Date): CompletionRecord {
  return {
    id: e.completionId,
    conversationId: e.conversationId,
    comparisonId: e.comparisonId,
    messages: e.messages,
    response: e.response,
    modelVersion: e.modelVersion,
    sampling: e.sampling,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    finishReason: e.finishReason,
    ttftMs: e.ttftMs,
    latencyMs: e.latencyMs,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    shadow: e.shadow,
    createdAt: new Date(e.createdAt),
    ingestedAt,
  };
}

export function feedbackRow(e: FeedbackEvent, ingestedAt: Date): FeedbackRecord {
  return {
    id: e.eventId,
    completionId: e.completionId,
    type: e.type,
    value: e.value,
    otherCompletionId: e.otherCompletionId,
    editedResponse: e.editedResponse,
    comment: e.comment,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    createdAt: new Date(e.createdAt),
    ingestedAt,
  };
}

export class IngestRepository {
  constructor(
    private readonly completions: ICompletionRepository,
    private readonly feedback: IFeedbackRepository,
  ) {}

  async insertCompletions(events: readonly CompletionEvent[], ingestedAt = new Date()): Promise<InsertCounts> {
    const rows = uniqueBy(events, (e) => e.completionId).map((e) => completionRow(e, ingestedAt));
    const inserted = await this.completions.insertIgnoringDuplicates(rows);
    return { inserted, duplicates: events.length - inserted };
  }

  async insertFeedback(events: readonly FeedbackEvent[], ingestedAt = new Date()): Promise<InsertCounts> {
    const rows = uniqueBy(events, (e) => e.eventId).map((e) => feedbackRow(e, ingestedAt));
    const inserted = await this.feedback.insertIgnoringDuplicates(rows);
    return { inserted, duplicates: events.length - inserted };
  }

  /** Which of these completion ids are already persisted. */
  existingCompletionIds(ids: readonly string[]): Promise<Set<string>> {
    return this.completions.existingIds(ids);
  }
}
