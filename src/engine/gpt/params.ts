// Deterministic GPT parameter initialization from a seed.
//
// GPT-2 / llm.c scheme: weights ~ N(0, 0.02), with the two residual projections of each
// block (attn.proj, mlp.proj) scaled by 1/√(2L) so the residual stream's variance does not
// grow with depth (Radford et al. 2019, §2.3); biases 0; LayerNorm weight 1, bias 0.
// The scalar heads start at zero so an untrained value / reward model outputs 0 rather
// than noise (its first gradients come from the loss, not from a random offset).

import { Rng } from '../rng.js';
import { GptConfig, ParameterSet } from './config.js';

export const INIT_STD = 0.02;

export function initGptParameters(config: GptConfig, seed: number): ParameterSet {
  const params = new ParameterSet(config);
  const rng = new Rng(seed);
  const residualStd = INIT_STD / Math.sqrt(2 * config.layers);
  for (const spec of params.layout) {
    const view = params.view(spec.name);
    const leaf = spec.name.replace(/^h\.\d+\./, ''); // 'h.3.mlp.proj.w' → 'mlp.proj.w'
    if (spec.name.startsWith('value_head') || spec.name.startsWith('reward_head')) {
      view.fill(0);
    } else if (leaf === 'ln1.w' || leaf === 'ln2.w' || leaf === 'lnf.w') {
      view.fill(1);
    } else if (spec.shape.length === 1) {
      view.fill(0); // biases and LayerNorm shifts
    } else {
      const std = leaf === 'attn.proj.w' || leaf === 'mlp.proj.w' ? residualStd : INIT_STD;
      for (let i = 0; i < view.length; i++) view[i] = std * rng.normal();
    }
  }
  return params;
}
