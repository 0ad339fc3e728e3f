// Batched reward scoring: N (prompt, response) token sequences → each ensemble member's
// score of each. Rows are sorted by length and cut into batches of at most `maxBatch`
// rows, so a batch is padded only to its own longest row (a 40-token response is not
// padded to the longest one in the request).
//
// The session runs on the calling thread (onnxruntime computes in session.run); keep it
// off an HTTP thread — RewardScorerThread (reward-scorer-thread.ts) runs it on a worker,
// and training programs, already on a TrainThread, use it directly.

import { ShapeError, TokenRangeError } from '../errors.js';
import type { GptConfig, ParameterSet } from '../gpt/config.js';
import { exportRewardGraph } from '../gpt/reward-graph.js';
import { ort, servingSessionOptions } from '../graph/session.js';
import { readRewardArtifact, type RewardManifest } from '../artifact/reward-artifact.js';

export interface RewardScoringInput {
  /** the rendered prompt's token ids (chat template up to and including the assistant marker) */
  prompt: ArrayLike<number>;
  /** the response's token ids, end-of-turn marker included */
  response: ArrayLike<number>;
}

export interface RewardScores {
  /** scores[k][i]: member k's score of input i */
  scores: Float32Array[];
  /** prompt tokens cut from the left of each input to fit the context (0 when none) */
  truncatedPromptTokens: Int32Array;
}

export interface RewardScorerOptions {
  intraOpThreads?: number;
  /**
   * rows per session.run; default 16. Measured on the shared 2-core machine (base-policy
   * RM, scenario responses of ~40 tokens): 140–200 pairs/s at 16 rows, 70–110 at 64 and
   * 130–170 at 1 (interleaved, load 12); batch 64 was the slowest in every run
   * (`npm run bench -- rm`).
   */
  maxBatch?: number;
}

/**
 * prompt + response in at most maxSeqLen tokens: the prompt is cut from the LEFT (its
 * oldest turns go first), never the response — the reward head reads the last token, and
 * a response without its end is not the response that was judged.
 */
export function joinPromptResponse(prompt: ArrayLike<number>, response: ArrayLike<number>, maxSeqLen: number): { ids: Int32Array; cut: number } {
  if (response.length === 0) throw new ShapeError('response', 'at least one token', '0');
  if (response.length >= maxSeqLen) throw new ShapeError('response', `fewer than ${maxSeqLen} tokens (the context, with one prompt token)`, String(response.length));
  const keep = Math.min(prompt.length, maxSeqLen - response.length);
  const ids = new Int32Array(keep + response.length);
  for (let i = 0; i < keep; i++) ids[i] = prompt[prompt.length - keep + i]!;
  for (let i = 0; i < response.length; i++) ids[keep + i] = response[i]!;
  return { ids, cut: prompt.length - keep };
}

export class RewardScorer {
  private constructor(
    readonly config: GptConfig,
    readonly members: number,
    private readonly session: ort.InferenceSession,
    private readonly maxBatch: number,
    /** the artifact's manifest, when loaded from one */
    readonly manifest: RewardManifest | null,
  ) {}

  /** Score with a reward artifact's score.onnx (files verified against the manifest). */
  static async load(dir: string, opts: RewardScorerOptions = {}): Promise<RewardScorer> {
    const artifact = await readRewardArtifact(dir);
    return RewardScorer.create(artifact.manifest.config, artifact.manifest.members, artifact.graph, opts, artifact.manifest);
  }

  /** Score with weights in memory (the same graph the artifact would ship). */
  static fromParameters(members: readonly ParameterSet[], opts: RewardScorerOptions = {}): Promise<RewardScorer> {
    return RewardScorer.create(members[0]!.config, members.length, exportRewardGraph(members), opts, null);
  }

  private static async create(config: GptConfig, members: number, graph: Uint8Array, opts: RewardScorerOptions, manifest: RewardManifest | null): Promise<RewardScorer> {
    const maxBatch = opts.maxBatch ?? 16;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch: must be a positive integer, got ${maxBatch}`);
    const session = await ort.InferenceSession.create(graph, servingSessionOptions(opts.intraOpThreads));
    return new RewardScorer(config, members, session, maxBatch, manifest);
  }

  async score(inputs: readonly RewardScoringInput[]): Promise<RewardScores> {
    const V = this.config.vocabSize;
    const rows = inputs.map((input, i) => {
      for (const [field, ids] of [['prompt', input.prompt], ['response', input.response]] as const) {
        for (let t = 0; t < ids.length; t++) {
          const id = ids[t]!;
          if (!Number.isInteger(id) || id < 0 || id >= V) throw new TokenRangeError(`inputs[${i}].${field}`, t, id, V);
        }
      }
      return joinPromptResponse(input.prompt, input.response, this.config.maxSeqLen);
    });
    const scores = Array.from({ length: this.members }, () => new Float32Array(inputs.length));
    const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.ids.length - rows[b]!.ids.length || a - b);
    for (let start = 0; start < order.length; start += this.maxBatch) {
      const batch = order.slice(start, start + this.maxBatch);
      const T = rows[batch[batch.length - 1]!]!.ids.length;
      const tokens = new BigInt64Array(batch.length * T);
      const lengths = new BigInt64Array(batch.length);
      batch.forEach((r, b) => {
        const ids = rows[r]!.ids;
        for (let t = 0; t < ids.length; t++) tokens[b * T + t] = BigInt(ids[t]!);
        lengths[b] = BigInt(ids.length);
      });
      const out = await this.session.run({ tokens: new ort.Tensor('int64', tokens, [batch.length, T]), lengths: new ort.Tensor('int64', lengths, [batch.length]) });
      const data = out.scores!.data as Float32Array; // (K, B)
      for (let k = 0; k < this.members; k++) batch.forEach((r, b) => (scores[k]![r] = data[k * batch.length + b]!));
    }
    return { scores, truncatedPromptTokens: Int32Array.from(rows, (r) => r.cut) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
