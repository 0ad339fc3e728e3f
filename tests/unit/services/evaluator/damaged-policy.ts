// A deliberately damaged copy of the shipped base policy, for the evaluator's tests and
// bench: the end-of-turn token's embedding is negated (the embedding is tied, so its
// logit flips sign wherever the model wanted to stop), so the policy rambles on to
// maxTokens — the verbosity a length-biased reward model rewards.
import { join } from 'node:path';
import { readArtifact, writeArtifact, type LoadedArtifact } from '../../../../src/engine/artifact/artifact.js';
import { ParameterSet } from '../../../../src/engine/gpt/config.js';
import type { RewardScorer } from '../../../../src/evaluation/sampling/index.js';

export const BASE_POLICY_DIR = join(import.meta.dirname, '../../../../../models/base-policy');

export function neverStoppingCopy(base: LoadedArtifact): ParameterSet {
  const data = Float32Array.from(base.params.data);
  const end = base.tokenizer.specialId('<|end|>');
  const C = base.config.channels;
  for (let c = 0; c < C; c++) data[end * C + c] = -data[end * C + c]!;
  return new ParameterSet(base.config, data);
}

/** Writes the damaged copy as an artifact; returns its manifest. */
export async function writeNeverStoppingArtifact(dir: string) {
  const base = await readArtifact(BASE_POLICY_DIR);
  const params = neverStoppingCopy(base);
  const manifest = await writeArtifact(dir, {
    config: base.config, params, tokenizer: base.tokenizer,
    meta: { kind: 'policy', parentArtifactId: base.manifest.artifactId, createdAt: '2026-11-29T00:00:00.000Z', notes: { damage: 'end-of-turn embedding negated' } },
    paramsBlob: false,
  });
  return { manifest, base };
}

/** A reward model that likes length and nothing else: the biased RM the naive gate trusts. */
export const LENGTH_LOVING_RM: RewardScorer = {
  id: 'length-loving-rm',
  score: async (rows) => ({ rewards: rows.map((r) => r.response.split(/\s+/).filter(Boolean).length / 10) }),
};
