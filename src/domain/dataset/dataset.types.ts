// The rows dataset building reads and writes. Plain data: the persistence adapter
// returns rows of these shapes, and tests build them by hand.
import type { CompletionRecord } from '../completions.js';
import type { FeedbackRecord, PreferenceSource } from '../feedback.js';
import type { JsonObject } from '../json.js';
import { canonicalJson, sha256Hex } from './canonical.js';

export type CompletionRow = Pick<CompletionRecord, 'id' | 'messages' | 'response' | 'modelVersion' | 'createdAt'>;
export type FeedbackRow = Pick<
  FeedbackRecord,
  'id' | 'completionId' | 'type' | 'value' | 'otherCompletionId' | 'editedResponse' | 'userId' | 'apiKeyId' | 'createdAt'
>;

/** A derived preference (chosen ≻ rejected for one prompt). The id is a hash of
 *  (prompt, chosen text, rejected text, source), so re-deriving from the same events
 *  gives the same pair instead of a duplicate. */
export interface PreferencePairRow {
  id: string;
  /** sha256 of the canonical prompt messages: the unit of the train/held-out split */
  promptHash: string;
  promptMessages: CompletionRecord['messages'];
  chosenCompletionId: string | null;
  rejectedCompletionId: string | null;
  chosenText: string;
  rejectedText: string;
  /** strength of the preference in the source's own units (rating difference, 1 for binary sources) */
  margin: number;
  source: PreferenceSource;
  /** ids of the feedback events that support this direction */
  eventIds: string[];
  /** number of events that labelled the same two responses the other way round */
  conflictCount: number;
  /** ids of the conflicting events, kept so a reviewer can audit them */
  conflictingEventIds: string[];
  /** model versions that produced the chosen and rejected responses (null for edits) */
  chosenModelVersion: string | null;
  rejectedModelVersion: string | null;
  /** latest feedback time among supporting events: what the snapshot time window filters on */
  createdAt: Date;
}

/** A labeller flagged by the spam defence; their labels are left out of pairs and snapshots. */
export interface UserFlagRow {
  /** `user:<user id>`, or `key:<api key id>` for feedback sent without a user id (see labellerOf) */
  userId: string;
  reason: string;
  /** the evidence: label counts, disagreements, p-value */
  detail: JsonObject;
  flaggedAt: Date;
}

export type ChatMessages = CompletionRow['messages'];

/** sha256 of the prompt's canonical JSON (role and content only, so extra fields a
 *  client sent never split one prompt into two). */
export function promptHashOf(messages: ChatMessages): string {
  let h = promptHashCache.get(messages);
  if (h === undefined) {
    h = sha256Hex(canonicalJson(messages.map((m) => ({ role: m.role, content: m.content }))));
    promptHashCache.set(messages, h);
  }
  return h;
}
/** Every event of a completion asks for the same prompt's hash; a completion row's
 *  messages array is one object, so cache by identity (measured: derivation of 25k
 *  events spent most of its time re-hashing prompts). */
const promptHashCache = new WeakMap<ChatMessages, string>();

/** Who labelled: the user id, else the API key (service accounts), else unknown. */
export function labellerOf(e: Pick<FeedbackRow, 'userId' | 'apiKeyId'>): string | null {
  if (e.userId) return `user:${e.userId}`;
  if (e.apiKeyId) return `key:${e.apiKeyId}`;
  return null;
}

/** The feedback a snapshot was frozen from. */
export interface SnapshotEventRange {
  /** smallest and largest feedback event id (lexicographic) among the frozen pairs */
  minEventId: string | null;
  maxEventId: string | null;
  eventCount: number;
  /** earliest and latest pair time (ISO) */
  from: string | null;
  to: string | null;
}

/** A dataset snapshot's row: what the registry knows of a snapshot without reading
 *  its files (the manifest's filters, counts and statistics, and where the files are). */
export interface DatasetSnapshotRecord {
  /** sha256 of the manifest's content */
  id: string;
  filters: JsonObject;
  counts: JsonObject;
  sourceEventRange: SnapshotEventRange;
  artifactPath: string;
  /** sha256 of manifest.json as written */
  sha256: string;
  statistics: JsonObject | null;
  createdAt: Date;
}
