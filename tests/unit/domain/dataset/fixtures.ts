// Hand-built completions and feedback for the dataset tests.
import type { CompletionRow, FeedbackRow } from '../../../../src/domain/dataset/dataset.types.js';

export const T0 = Date.parse('2026-11-01T00:00:00.000Z');

export function completion(id: string, prompt: string, response: string, modelVersion = 'policy-v1'): CompletionRow {
  return { id, messages: [{ role: 'user', content: prompt }], response, modelVersion, createdAt: new Date(T0) };
}

let seq = 0;
/** Restart event ids and times, so a fixture built twice is identical. */
export function resetFeedbackSequence(): void {
  seq = 0;
}

export function feedback(
  type: FeedbackRow['type'],
  completionId: string,
  value: number | null,
  over: Partial<FeedbackRow> = {},
): FeedbackRow {
  seq++;
  return {
    id: over.id ?? `ev-${String(seq).padStart(5, '0')}`,
    completionId,
    type,
    value,
    otherCompletionId: null,
    editedResponse: null,
    userId: 'alice',
    apiKeyId: null,
    createdAt: new Date(T0 + seq * 1000),
    ...over,
  };
}

export function byId(rows: readonly CompletionRow[]): Map<string, CompletionRow> {
  return new Map(rows.map((r) => [r.id, r]));
}
