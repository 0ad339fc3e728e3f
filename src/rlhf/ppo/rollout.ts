// A PPO rollout batch: sample one response per prompt from the current policy on the
// serving runtime (BatchEngine.fromParameters — the same sampler and KV cache that serve
// users, so the policy optimised is the policy served), then score every response token
// under the policy (old log-probs, values, entropy) and under the frozen reference with
// the scoring graph, and ask the reward function for one score per response.
//
// Where this follows / differs from the references:
// - T = 1, top-p 1, no top-k: PPO's ratio needs samples from π itself (Huang et al. 2023,
//   "The N Implementation Details of RLHF with PPO", detail on sampling temperature).
// - Old log-probs come from the scoring graph, not from the sampler's log-probs: the
//   serving graphs (KV cache, fused decode) and the training graph round differently, and
//   the ratio π/π_old must be exactly 1 before the first update (TRL's PPOTrainer
//   recomputes them with a forward pass the same way; OpenRLHF too).
// - A response cut at max tokens without EOS keeps its tokens but its score is lowered by
//   `truncationPenalty` (TRL's `missing_eos_penalty`; the N details' "penalise no-EOS").

import { END_OF_TURN, renderChatPrompt } from '../../engine/chat-template.js';
import type { ParameterSet } from '../../engine/gpt/config.js';
import type { BatchEngine } from '../../engine/runtime/batch-engine.js';
import type { GptScorer } from '../../engine/train/scorer.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import type { EnsembleObjective } from '../reward/ensemble.js';
import { objectiveScores, type PolicyResponse, type RewardFunction } from './reward-function.js';

export interface RolloutOptions {
  /** Generated tokens per response at most (the end-of-turn token counts). */
  maxTokens: number;
  /** Seed of this batch; row i samples with seed + i (reproducible, resumable). */
  seed: number;
  /** Subtracted from the score of a response that hit max tokens without EOS. Default 0. */
  truncationPenalty?: number;
  objective?: EnsembleObjective;
  /** Rows per scoring-graph run (memory: rows × T × V logits). Default 16. */
  scoreBatch?: number;
}

export interface RolloutBatch {
  prompts: string[];
  promptIds: number[][];
  responses: PolicyResponse[];
  /** Per response token: log π_old, log π_ref, V, entropy (nats). */
  logprobs: Float32Array[];
  refLogprobs: Float32Array[];
  values: Float32Array[];
  entropy: Float32Array[];
  /** The reward function's objective score per response (before the truncation penalty). */
  rmScores: number[];
  /** Ensemble members' scores when the reward function returned them. */
  members: number[][] | null;
  /** rmScores with the truncation penalty applied: the score PPO's reward uses. */
  scores: number[];
  timings: { rolloutMs: number; rewardMs: number; policyScoringMs: number; referenceMs: number };
}

/** The user prompt as the policy sees it: one user turn, then the assistant marker. */
export function encodeUserPrompt(tokenizer: BpeTokenizer, prompt: string): number[] {
  return tokenizer.encodeSegments(renderChatPrompt([{ role: 'user', content: prompt }]));
}

/** Samples one response per prompt at T = 1 (every row its own seed, all rows batched). */
export async function sampleResponses(engine: BatchEngine, promptIds: readonly number[][], maxTokens: number, seed: number): Promise<PolicyResponse[]> {
  const endId = engine.tokenizer.specialId(END_OF_TURN);
  const results = await Promise.all(promptIds.map((prompt, i) => engine.generate({ prompt: [...prompt], maxTokens, temperature: 1, topP: 1, seed: seed + i })));
  return results.map((r) => {
    const tokenIds = r.tokens.map((t) => t.tokenId);
    return { text: r.text, tokenIds, endedWithEos: tokenIds[tokenIds.length - 1] === endId };
  });
}

export interface ScoredTokens {
  logprobs: Float32Array[];
  values: Float32Array[];
  entropy: Float32Array[];
}

/**
 * Scores each response's tokens given its prompt under `params`: row b is prompt ++ response,
 * tokens[t] predicts targets[t] = seq[t + 1], and the response's j-th token is the target at
 * position P − 1 + j. Rows are right-padded with `padId`.
 */
export async function scoreResponses(scorer: GptScorer, params: ParameterSet, promptIds: readonly number[][], responseIds: readonly (readonly number[])[], padId: number, scoreBatch = 16): Promise<ScoredTokens> {
  const out: ScoredTokens = { logprobs: [], values: [], entropy: [] };
  for (let start = 0; start < promptIds.length; start += scoreBatch) {
    const rows = promptIds.slice(start, start + scoreBatch).map((p, i) => [...p, ...responseIds[start + i]!]);
    const B = rows.length;
    const T = Math.max(...rows.map((r) => r.length)) - 1;
    const tokens = new BigInt64Array(B * T).fill(BigInt(padId));
    const targets = new BigInt64Array(B * T).fill(BigInt(padId));
    const lengths = new BigInt64Array(B);
    rows.forEach((seq, b) => {
      for (let t = 0; t + 1 < seq.length; t++) {
        tokens[b * T + t] = BigInt(seq[t]!);
        targets[b * T + t] = BigInt(seq[t + 1]!);
      }
      lengths[b] = BigInt(seq.length - 1);
    });
    const s = await scorer.score(params.data, { tokens, targets, lengths, batch: B, seqLen: T });
    rows.forEach((_, b) => {
      const P = promptIds[start + b]!.length;
      const R = responseIds[start + b]!.length;
      const from = b * T + P - 1;
      out.logprobs.push(s.logprobs.slice(from, from + R));
      out.values.push(s.values.slice(from, from + R));
      out.entropy.push(s.entropy.slice(from, from + R));
    });
  }
  return out;
}

export interface RolloutModels {
  engine: BatchEngine;
  scorer: GptScorer;
  policy: ParameterSet;
  reference: ParameterSet;
  reward: RewardFunction;
}

/** One rollout batch: sample, reward, score under the policy and the reference. */
export async function collectRollout(models: RolloutModels, prompts: readonly string[], opts: RolloutOptions): Promise<RolloutBatch> {
  const { engine, scorer, policy, reference, reward } = models;
  const tokenizer = engine.tokenizer;
  const padId = tokenizer.specialId('<|pad|>');
  const promptIds = prompts.map((p) => encodeUserPrompt(tokenizer, p));

  let t0 = performance.now();
  const responses = await sampleResponses(engine, promptIds, opts.maxTokens, opts.seed);
  const rolloutMs = performance.now() - t0;

  t0 = performance.now();
  const raw = await reward(prompts, responses);
  const rmScores = objectiveScores(raw, responses.length, opts.objective);
  const rewardMs = performance.now() - t0;
  const penalty = opts.truncationPenalty ?? 0;
  const scores = rmScores.map((s, i) => (responses[i]!.endedWithEos ? s : s - penalty));

  const responseIds = responses.map((r) => r.tokenIds);
  t0 = performance.now();
  const pol = await scoreResponses(scorer, policy, promptIds, responseIds, padId, opts.scoreBatch);
  const policyScoringMs = performance.now() - t0;
  t0 = performance.now();
  const ref = await scoreResponses(scorer, reference, promptIds, responseIds, padId, opts.scoreBatch);
  const referenceMs = performance.now() - t0;

  return {
    prompts: [...prompts],
    promptIds,
    responses,
    logprobs: pol.logprobs,
    refLogprobs: ref.logprobs,
    values: pol.values,
    entropy: pol.entropy,
    rmScores,
    members: raw.members ?? null,
    scores,
    timings: { rolloutMs, rewardMs, policyScoringMs, referenceMs },
  };
}
