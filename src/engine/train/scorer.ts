// Runs the scoring graph (train-graph.ts buildScoringGraph) with a parameter blob: the
// forward without a loss. PPO needs it for rollouts (old log-probs and values under the
// policy, reference log-probs under the frozen SFT model), the RM evaluation for rewards.
// Weights are graph inputs, so one session scores with any parameter blob.

import { EngineSessionOptions, getSession, ort } from '../graph/session.js';
import { GptConfig, ParameterSpec, gptParameterLayout } from '../gpt/config.js';
import { buildScoringGraph, TrainGraph } from './train-graph.js';
import { validateBatch } from './train-step.js';

export interface ScoreInput {
  tokens: BigInt64Array; // (B, T)
  targets: BigInt64Array; // (B, T) next token at each position
  lengths: BigInt64Array; // (B)
  batch: number;
  seqLen: number;
}

export interface ScoreOutput {
  logprobs: Float32Array; // (B, T) log p(targets[b, t] | tokens[b, ≤ t])
  values: Float32Array; // (B, T)
  rewards: Float32Array; // (B) at each row's last real token
  entropy: Float32Array; // (B, T)
}

export class GptScorer {
  private readonly layout: ParameterSpec[];
  private readonly contract: Pick<TrainGraph, 'graph' | 'batchInputs'>;

  private constructor(
    readonly config: GptConfig,
    private readonly session: ort.InferenceSession,
    graph: TrainGraph['graph'],
  ) {
    this.layout = gptParameterLayout(config);
    this.contract = { graph, batchInputs: ['tokens', 'targets', 'lengths'] };
  }

  static async create(config: GptConfig, opts: EngineSessionOptions = {}): Promise<GptScorer> {
    const graph = buildScoringGraph(config);
    return new GptScorer(config, await getSession(graph, opts), graph);
  }

  async score(params: Float32Array, input: ScoreInput): Promise<ScoreOutput> {
    const { batch: B, seqLen: T } = input;
    const batch = {
      tokens: { data: input.tokens, shape: [B, T] },
      targets: { data: input.targets, shape: [B, T] },
      lengths: { data: input.lengths, shape: [B] },
    };
    validateBatch(this.contract, this.config, batch);
    const feeds: Record<string, ort.Tensor> = {};
    for (const s of this.layout) feeds[s.name] = new ort.Tensor('float32', params.subarray(s.offset, s.offset + s.size), [...s.shape]);
    feeds.tokens = new ort.Tensor('int64', input.tokens, [B, T]);
    feeds.targets = new ort.Tensor('int64', input.targets, [B, T]);
    feeds.lengths = new ort.Tensor('int64', input.lengths, [B]);
    const out = await this.session.run(feeds);
    return {
      logprobs: out.logprobs!.data as Float32Array,
      values: out.values!.data as Float32Array,
      rewards: out.rewards!.data as Float32Array,
      entropy: out.entropy!.data as Float32Array,
    };
  }
}
