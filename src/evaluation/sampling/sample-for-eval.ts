// Sampling for evaluation: every prompt of every suite, once per sampling seed, through
// the serving runtime (BatchEngine: prefill + KV-cached decode, continuous batching), so
// an evaluation sees what users would get. Seeded: generation seed = f(base seed, seed
// index, prompt id), so evaluating the same artifact twice gives the same tokens and
// therefore the same numbers, whatever order the rows finish in.
//
// For the KL diagnostics each sample also carries per-token log-probs of the policy and,
// when a reference is given, of the reference policy on the same tokens. Both come from
// the scoring graph (GptScorer, the forward PPO uses for its rollouts), at temperature 1:
// the engine's own per-token log-prob is under softmax(logits / T), which is not the
// policy's distribution unless T = 1.

import type { ChatMessage } from '../../engine/chat-template.js';
import { renderChatPrompt } from '../../engine/chat-template.js';
import type { ParameterSet } from '../../engine/gpt/config.js';
import type { BatchEngine } from '../../engine/runtime/batch-engine.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import { GptScorer } from '../../engine/train/scorer.js';
import { EvaluationInputError } from '../errors.js';
import type { EvalSample } from '../suites/evaluate-samples.js';

export interface EvalSamplingOptions {
  /** sampling seeds: each prompt is answered once per seed (the paired bootstrap needs the same seeds on both sides) */
  seeds: readonly number[];
  maxTokens: number;
  /** 0 = greedy (then one seed is enough: every seed gives the same answer) */
  temperature: number;
  topP?: number;
}

export interface SamplingPrompt {
  id: string;
  messages: readonly { role: string; content: string }[];
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'];

function chatMessages(p: SamplingPrompt, at: string): ChatMessage[] {
  return p.messages.map((m, i) => {
    if (!ROLES.includes(m.role)) throw new EvaluationInputError(`${at}.messages[${i}].role`, `must be one of ${ROLES.join(', ')}, got "${m.role}"`);
    return { role: m.role as ChatMessage['role'], content: m.content };
  });
}

/** A sample as evaluateSamples takes it, plus the token ids the log-probs are for. */
export interface PolicySample extends EvalSample {
  seed: number;
  tokenIds: number[];
  promptTokenIds: number[];
}

/** FNV-1a over the prompt id: a stable 32-bit number, so a prompt's seed does not depend on its position in the set. */
function promptHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The generation seed of one (prompt, sampling seed). */
export function generationSeed(promptId: string, seed: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ promptHash(promptId)) >>> 0;
}

function validate(opts: EvalSamplingOptions): void {
  if (opts.seeds.length === 0) throw new EvaluationInputError('seeds', 'give at least one sampling seed');
  opts.seeds.forEach((s, i) => { if (!Number.isSafeInteger(s)) throw new EvaluationInputError(`seeds[${i}]`, `must be an integer, got ${s}`); });
  if (new Set(opts.seeds).size !== opts.seeds.length) throw new EvaluationInputError('seeds', 'a seed is listed twice');
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) throw new EvaluationInputError('maxTokens', `must be a positive integer, got ${opts.maxTokens}`);
  if (!(opts.temperature >= 0)) throw new EvaluationInputError('temperature', `must be ≥ 0, got ${opts.temperature}`);
}

/**
 * Answers every prompt once per seed with the engine (all rows submitted at once: the
 * engine batches them). Samples come back in prompt order, then seed order.
 */
export async function sampleForEval(engine: BatchEngine, tokenizer: BpeTokenizer, prompts: readonly SamplingPrompt[], opts: EvalSamplingOptions): Promise<PolicySample[]> {
  validate(opts);
  const encoded = prompts.map((p, i) => tokenizer.encodeSegments(renderChatPrompt(chatMessages(p, `prompts[${i}]`))));
  const jobs = prompts.flatMap((p, i) => opts.seeds.map((seed) => ({ p, seed, promptTokenIds: encoded[i]! })));
  return Promise.all(jobs.map(async ({ p, seed, promptTokenIds }) => {
    const r = await engine.generate({
      prompt: promptTokenIds,
      maxTokens: opts.maxTokens,
      temperature: opts.temperature,
      topP: opts.topP ?? 1,
      seed: generationSeed(p.id, seed),
    });
    const tokenIds = r.tokens.map((t) => t.tokenId);
    return { promptId: p.id, seed, response: r.text, tokens: tokenIds.length, tokenIds, promptTokenIds };
  }));
}

export interface LogprobScoringOptions {
  /** rows per scoring-graph run; default 32 */
  batch?: number;
  intraOpThreads?: number;
}

/**
 * The per-token log-probs of `params` on each sample's response tokens (prompt tokens
 * are context, not scored), with the scoring graph. Rows are packed by length so a
 * batch pads little.
 */
export class ResponseLogprobScorer {
  private constructor(private readonly scorer: GptScorer, private readonly batch: number) {}

  static async create(params: ParameterSet, opts: LogprobScoringOptions = {}): Promise<ResponseLogprobScorer> {
    const scorer = await GptScorer.create(params.config, { intraOpThreads: opts.intraOpThreads });
    return new ResponseLogprobScorer(scorer, opts.batch ?? 32);
  }

  async score(params: ParameterSet, samples: readonly PolicySample[]): Promise<Float32Array[]> {
    const maxSeq = params.config.maxSeqLen;
    const out: Float32Array[] = new Array(samples.length);
    const order = samples.map((_, i) => i).sort((a, b) => rowLength(samples[a]!) - rowLength(samples[b]!) || a - b);
    for (let start = 0; start < order.length; start += this.batch) {
      const rows = order.slice(start, start + this.batch);
      const T = Math.max(2, ...rows.map((i) => rowLength(samples[i]!)));
      if (T > maxSeq + 1) throw new EvaluationInputError(`samples[${rows.find((i) => rowLength(samples[i]!) === T)}]`, `prompt + response is ${T} tokens, more than the model's context ${maxSeq}`);
      const B = rows.length;
      const seqLen = T - 1;
      const tokens = new BigInt64Array(B * seqLen);
      const targets = new BigInt64Array(B * seqLen);
      const lengths = new BigInt64Array(B);
      rows.forEach((i, b) => {
        const ids = [...samples[i]!.promptTokenIds, ...samples[i]!.tokenIds];
        for (let t = 0; t < ids.length - 1; t++) {
          tokens[b * seqLen + t] = BigInt(ids[t]!);
          targets[b * seqLen + t] = BigInt(ids[t + 1]!);
        }
        lengths[b] = BigInt(ids.length - 1);
      });
      const s = await this.scorer.score(params.data, { tokens, targets, lengths, batch: B, seqLen });
      rows.forEach((i, b) => {
        const sample = samples[i]!;
        // the response's first token is predicted at the prompt's last position
        const from = sample.promptTokenIds.length - 1;
        out[i] = s.logprobs.slice(b * seqLen + from, b * seqLen + from + sample.tokenIds.length);
      });
    }
    return out;
  }
}

const rowLength = (s: PolicySample): number => s.promptTokenIds.length + s.tokenIds.length;

/**
 * Adds `logprobs` (under the policy) and `refLogprobs` (under the reference) to each
 * sample, for the suites' kl.k1 / kl.k3 diagnostics.
 */
export async function attachKlLogprobs(scorer: ResponseLogprobScorer, policy: ParameterSet, reference: ParameterSet, samples: PolicySample[]): Promise<PolicySample[]> {
  if (policy.config.vocabSize !== reference.config.vocabSize) throw new EvaluationInputError('reference', `vocabulary ${reference.config.vocabSize} differs from the policy's ${policy.config.vocabSize}`);
  const lp = await scorer.score(policy, samples);
  const ref = policy.data === reference.data ? lp : await scorer.score(reference, samples);
  return samples.map((s, i) => ({ ...s, logprobs: Array.from(lp[i]!), refLogprobs: Array.from(ref[i]!) }));
}
