// Reward-model inputs: snapshot pairs tokenized with the policy's tokenizer and chat
// template (the RM must read text exactly as the policy writes it), then packed into
// length-bucketed batches (batching.ts) for the reward loss.
//
// Truncation: a prompt longer than the context allows is cut from the LEFT (its oldest
// tokens go first); a response is never cut — its end is what the reward head reads, and
// a response without its end is not the one that was judged. A pair whose response
// alone does not fit is dropped. Both are counted and reported.

import { END_OF_TURN, renderChatPrompt, type ChatMessage } from '../../engine/chat-template.js';
import { joinPromptResponse } from '../../engine/runtime/reward-scorer.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import type { Batch } from '../../engine/train/train-step.js';
import { packByLength, type LengthBatch } from './batching.js';
import type { FeedbackSource } from './report.js';

/** What the RM needs of a snapshot row (src/domain/dataset/snapshot.ts SnapshotRow). */
export interface PreferenceRow {
  promptHash: string;
  prompt: readonly { role: string; content: string }[];
  chosen: string;
  rejected: string;
  margin: number;
  source: FeedbackSource;
}

export interface EncodedPair {
  /** index of the row in the input */
  row: number;
  chosen: Int32Array;
  rejected: Int32Array;
  margin: number;
  promptHash: string;
  source: FeedbackSource;
  /** response lengths in tokens (end marker included) */
  chosenResponseTokens: number;
  rejectedResponseTokens: number;
}

export interface TruncationReport {
  rows: number;
  /** pairs whose prompt lost tokens from its left */
  promptsTruncated: number;
  promptTokensCut: number;
  /** pairs dropped because a response alone does not fit the context */
  droppedResponseTooLong: number;
}

export class RewardDataError extends Error {
  readonly code = 'reward_data_invalid';
  readonly retriable = false;
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'RewardDataError';
  }
}

export function encodeResponse(tokenizer: BpeTokenizer, response: string): number[] {
  return tokenizer.encodeSegments([{ text: response }, { special: END_OF_TURN }]);
}

export function encodePrompt(tokenizer: BpeTokenizer, messages: readonly { role: string; content: string }[], field = 'prompt'): number[] {
  messages.forEach((m, i) => {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') throw new RewardDataError(`${field}[${i}].role`, `must be system, user or assistant, got ${JSON.stringify(m.role)}`);
  });
  return tokenizer.encodeSegments(renderChatPrompt(messages as ChatMessage[]));
}

export function encodePreferencePairs(rows: readonly PreferenceRow[], tokenizer: BpeTokenizer, maxSeqLen: number): { pairs: EncodedPair[]; truncation: TruncationReport } {
  const truncation: TruncationReport = { rows: rows.length, promptsTruncated: 0, promptTokensCut: 0, droppedResponseTooLong: 0 };
  const pairs: EncodedPair[] = [];
  rows.forEach((r, i) => {
    if (!Number.isFinite(r.margin) || r.margin < 0) throw new RewardDataError(`rows[${i}].margin`, `must be a finite number ≥ 0, got ${r.margin}`);
    const prompt = encodePrompt(tokenizer, r.prompt, `rows[${i}].prompt`);
    const chosen = encodeResponse(tokenizer, r.chosen);
    const rejected = encodeResponse(tokenizer, r.rejected);
    if (Math.max(chosen.length, rejected.length) >= maxSeqLen) {
      truncation.droppedResponseTooLong++;
      return;
    }
    const c = joinPromptResponse(prompt, chosen, maxSeqLen);
    const j = joinPromptResponse(prompt, rejected, maxSeqLen);
    const cut = Math.max(c.cut, j.cut);
    if (cut > 0) {
      truncation.promptsTruncated++;
      truncation.promptTokensCut += cut;
    }
    pairs.push({ row: i, chosen: c.ids, rejected: j.ids, margin: r.margin, promptHash: r.promptHash, source: r.source, chosenResponseTokens: chosen.length, rejectedResponseTokens: rejected.length });
  });
  return { pairs, truncation };
}

/**
 * The reward loss's batch for these pairs: tokens (2B, T) — chosen rows, then rejected
 * rows — right-padded with `padId` to the longest of them; lengths (2B); margin (B).
 */
export function rewardBatch(pairs: readonly EncodedPair[], padId: number, marginScale: number): Batch {
  const B = pairs.length;
  const T = Math.max(...pairs.map((p) => Math.max(p.chosen.length, p.rejected.length)));
  const tokens = new BigInt64Array(2 * B * T).fill(BigInt(padId));
  const lengths = new BigInt64Array(2 * B);
  const margin = new Float32Array(B);
  pairs.forEach((p, b) => {
    for (const [row, ids] of [[b, p.chosen], [B + b, p.rejected]] as const) {
      for (let t = 0; t < ids.length; t++) tokens[row * T + t] = BigInt(ids[t]!);
      lengths[row] = BigInt(ids.length);
    }
    margin[b] = marginScale * p.margin;
  });
  return { tokens: { data: tokens, shape: [2 * B, T] }, lengths: { data: lengths, shape: [2 * B] }, margin: { data: margin, shape: [B] } };
}

/** One epoch's batches over `pairs` (indices into it), packed by length under a token budget. */
export function packPairs(pairs: readonly EncodedPair[], indices: ArrayLike<number>, opts: { maxTokens: number; seed: number; maxRows?: number }): number[][] {
  const rows = Array.from(indices, (i) => [pairs[i]!.chosen.length, pairs[i]!.rejected.length]);
  const packing = packByLength(rows, opts);
  return packing.batches.map((b: LengthBatch) => b.rows.map((r) => indices[r]!));
}
