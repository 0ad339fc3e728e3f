// A tiny random-weight GPT artifact for runtime tests: fast to build and to run.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArtifact, type InferenceGraphExporter } from '../../../../src/engine/artifact/artifact.js';
import { ParameterSet, type GptConfig } from '../../../../src/engine/gpt/config.js';
import { Rng } from '../../../../src/engine/rng.js';
import { trainBpeTokenizer, type BpeTokenizer } from '../../../../src/engine/tokenizer/index.js';
import { exportInferenceGraphs } from '../../../../src/engine/gpt/inference-graphs.js';
import type { GenerateParams, GenerateResult } from '../../../../src/engine/runtime/index.js';

/** A greedy request for a chat prompt (user turn, then the assistant's) or raw token ids. */
export const greedy = (prompt: string | number[], maxTokens: number, extra: Partial<GenerateParams> = {}): GenerateParams => ({
  prompt: typeof prompt === 'string' ? [{ special: '<|user|>' }, { text: prompt }, { special: '<|assistant|>' }] : prompt,
  maxTokens,
  temperature: 0,
  topP: 1,
  ...extra,
});

export const ids = (r: GenerateResult): number[] => r.tokens.map((t) => t.tokenId);

export const FIXTURE_CORPUS = [
  'How do I kill a Linux process? Use kill with the process id.',
  'The quick brown fox jumps over the lazy dog.',
  'Emoji 😀 and accents café naïve.',
];

export function tinyTokenizer(): BpeTokenizer {
  return trainBpeTokenizer({ corpus: FIXTURE_CORPUS, vocabSize: 300 });
}

export function tinyConfig(tokenizer: BpeTokenizer, maxSeqLen = 48): GptConfig {
  return { vocabSize: tokenizer.vocabSize, maxSeqLen, channels: 32, layers: 2, heads: 4 };
}

/** Random weights with a large enough scale that logits are far from uniform (greedy ties are rare). */
export function randomParameters(config: GptConfig, seed: number, scale = 0.2): ParameterSet {
  const p = new ParameterSet(config);
  const rng = new Rng(seed);
  for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * scale;
  for (const spec of p.layout) if (/ln\w*\.w$/.test(spec.name)) p.view(spec.name).fill(1);
  return p;
}

export async function tinyArtifact(opts: { seed?: number; maxSeqLen?: number; exporter?: InferenceGraphExporter } = {}): Promise<{ dir: string; tokenizer: BpeTokenizer; config: GptConfig; params: ParameterSet }> {
  const tokenizer = tinyTokenizer();
  const config = tinyConfig(tokenizer, opts.maxSeqLen);
  const params = randomParameters(config, opts.seed ?? 1);
  const dir = join(await mkdtemp(join(tmpdir(), 'outerloop-runtime-')), 'artifact');
  await writeArtifact(dir, { config, params, tokenizer, meta: { kind: 'policy' } }, opts.exporter ?? exportInferenceGraphs);
  return { dir, tokenizer, config, params };
}
