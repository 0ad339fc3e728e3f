// The rows dataset building reads and writes. Plain data, shaped like the entities
// so the service can pass TypeORM rows straight in, and tests can build them by hand.
import type { CompletionEntity, FeedbackEventEntity, PreferencePairEntity, UserFlagEntity } from '../../../platform/persistence/entities/index.js';
import { canonicalJson, sha256Hex } from './canonical.js';

export type CompletionRow = Pick<CompletionEntity, 'id' | 'messages' | 'response' | 'modelVersion' | 'createdAt'>;
export type FeedbackRow = Pick<
  FeedbackEventEntity,
  'id' | 'completionId' | 'type' | 'value' | 'otherCompletionId' | 'editedResponse' | 'userId' | 'apiKeyId' | 'createdAt'
>;
/** A preference pair without its ORM relation properties. */
export type PreferencePairRow = Omit<PreferencePairEntity, 'chosenCompletion' | 'rejectedCompletion'>;
export type UserFlagRow = UserFlagEntity;

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
