// The four losses of src/rlhf (SFT, reward model, PPO, DPO), each built into the engine's
// training graph, on a tiny GPT in float64:
//  1. each loss value equals the formula computed in plain TS from the scoring graph's
//     per-token log-probs, values and rewards (so the graph implements the paper's loss);
//  2. the gradient of each loss with respect to EVERY parameter tensor (sampled elements)
//     matches central finite differences of the same graph.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GptConfig, ParameterSet } from '../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../src/engine/gpt/params.js';
import { buildScoringGraph, buildTrainGraph, GRAD_PREFIX } from '../../../src/engine/train/train-graph.js';
import type { LossBuilder } from '../../../src/engine/train/loss.js';
import { sftLoss } from '../../../src/rlhf/sft/sft.loss.js';
import { rewardLoss } from '../../../src/rlhf/reward/reward.loss.js';
import { ppoLoss } from '../../../src/rlhf/ppo/ppo.loss.js';
import { dpoLoss } from '../../../src/rlhf/dpo/dpo.loss.js';
import { getSession, ort } from '../../../src/engine/graph/session.js';
import { Rng } from '../../../src/engine/rng.js';

const CONFIG: GptConfig = { vocabSize: 12, maxSeqLen: 8, channels: 8, layers: 2, heads: 2 };
const B = 2, T = 5;

function perturbedParams(): ParameterSet {
  const p = initGptParameters(CONFIG, 3);
  const rng = new Rng(4);
  for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + 0.1 * rng.normal();
  return p;
}

const f64 = (values: ArrayLike<number>, shape: number[]): ort.Tensor => new ort.Tensor('float64', Float64Array.from(values), shape);
const i64 = (values: number[], shape: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);
const logSigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

interface Scores { logprobs: Float64Array; values: Float64Array; rewards: Float64Array; entropy: Float64Array }

async function score(weights: Record<string, ort.Tensor>, tokens: number[], targets: number[], lengths: number[], rows: number): Promise<Scores> {
  const s = await getSession(buildScoringGraph(CONFIG, 'float64'), { intraOpThreads: 1 });
  const out = await s.run({ ...weights, tokens: i64(tokens, [rows, T]), targets: i64(targets, [rows, T]), lengths: i64(lengths, [rows]) });
  return { logprobs: out.logprobs!.data as Float64Array, values: out.values!.data as Float64Array, rewards: out.rewards!.data as Float64Array, entropy: out.entropy!.data as Float64Array };
}

/** Batch feeds for a loss kind and the expected loss computed in TS from the scoring graph. */
type LossKind = 'sft' | 'reward' | 'ppo' | 'dpo';
const LOSSES: Record<LossKind, LossBuilder> = { sft: sftLoss, reward: rewardLoss, ppo: ppoLoss, dpo: dpoLoss };

async function batchAndExpectedLoss(kind: LossKind, weights: Record<string, ort.Tensor>): Promise<{ feeds: Record<string, ort.Tensor>; expected: number }> {
  const rng = new Rng(11);
  const rows = kind === 'reward' || kind === 'dpo' ? 2 * B : B;
  const tokens = Array.from({ length: rows * T }, () => rng.nextInt(CONFIG.vocabSize));
  const targets = Array.from({ length: rows * T }, () => rng.nextInt(CONFIG.vocabSize));
  const lengths = Array.from({ length: rows }, (_, r) => [5, 3, 4, 2][r % 4]!);
  const mask = Array.from({ length: rows * T }, (_, i) => (i % T >= 1 && i % T < lengths[Math.floor(i / T)]! ? 1 : 0));
  const sc = await score(weights, tokens, targets, lengths, rows);
  const maskedMean = (x: (i: number) => number): number => {
    let num = 0, den = 0;
    for (let i = 0; i < rows * T; i++) { num += x(i) * mask[i]!; den += mask[i]!; }
    return num / Math.max(den, 1);
  };
  switch (kind) {
    case 'sft':
      return {
        feeds: { tokens: i64(tokens, [B, T]), targets: i64(targets, [B, T]), loss_mask: f64(mask, [B, T]) },
        expected: -maskedMean((i) => sc.logprobs[i]!),
      };
    case 'reward': {
      const margin = [0.5, 0];
      let loss = 0;
      for (let b = 0; b < B; b++) loss -= logSigmoid(sc.rewards[b]! - sc.rewards[B + b]! - margin[b]!) / B;
      return { feeds: { tokens: i64(tokens, [2 * B, T]), lengths: i64(lengths, [2 * B]), margin: f64(margin, [B]) }, expected: loss };
    }
    case 'ppo': {
      const old = Array.from(sc.logprobs, (lp) => lp + 0.3 * rng.normal());
      const adv = Array.from({ length: B * T }, () => rng.normal());
      const ret = Array.from({ length: B * T }, () => rng.normal());
      const oldV = Array.from(sc.values, (v) => v + 0.4 * rng.normal());
      const eps = 0.2, vclip = 0.2, vcoef = 0.5, ecoef = 0.01;
      const pg = maskedMean((i) => {
        const ratio = Math.exp(sc.logprobs[i]! - old[i]!);
        const clipped = Math.min(Math.max(ratio, 1 - eps), 1 + eps);
        return Math.max(-adv[i]! * ratio, -adv[i]! * clipped);
      });
      const vl = 0.5 * maskedMean((i) => {
        const v = sc.values[i]!;
        const vc = oldV[i]! + Math.min(Math.max(v - oldV[i]!, -vclip), vclip);
        return Math.max((v - ret[i]!) ** 2, (vc - ret[i]!) ** 2);
      });
      const ent = maskedMean((i) => sc.entropy[i]!);
      return {
        feeds: {
          tokens: i64(tokens, [B, T]), targets: i64(targets, [B, T]), action_mask: f64(mask, [B, T]),
          old_logprobs: f64(old, [B, T]), advantages: f64(adv, [B, T]), returns: f64(ret, [B, T]), old_values: f64(oldV, [B, T]),
          clip_eps: f64([eps], []), value_clip: f64([vclip], []), value_coef: f64([vcoef], []), entropy_coef: f64([ecoef], []),
        },
        expected: pg + vcoef * vl - ecoef * ent,
      };
    }
    case 'dpo': {
      const seq = Array.from({ length: rows }, (_, r) => {
        let s = 0;
        for (let t = 0; t < T; t++) s += sc.logprobs[r * T + t]! * mask[r * T + t]!;
        return s;
      });
      const refC = [seq[0]! - 0.3, seq[1]! + 0.2], refR = [seq[2]! + 0.1, seq[3]! - 0.4];
      const beta = 0.5;
      let loss = 0;
      for (let b = 0; b < B; b++) loss -= logSigmoid(beta * (seq[b]! - refC[b]! - (seq[B + b]! - refR[b]!))) / B;
      return {
        feeds: {
          tokens: i64(tokens, [2 * B, T]), targets: i64(targets, [2 * B, T]), loss_mask: f64(mask, [2 * B, T]),
          ref_chosen_logprobs: f64(refC, [B]), ref_rejected_logprobs: f64(refR, [B]), beta: f64([beta], []),
        },
        expected: loss,
      };
    }
  }
}

describe('loss graphs on a tiny GPT (float64)', () => {
  for (const kind of ['sft', 'reward', 'ppo', 'dpo'] as const) {
    it(`${kind}: loss equals the formula and every parameter gradient matches finite differences`, async () => {
      const params = perturbedParams();
      const blobs = new Map<string, Float64Array>();
      const weights: Record<string, ort.Tensor> = {};
      for (const s of params.layout) {
        const arr = Float64Array.from(params.view(s.name));
        blobs.set(s.name, arr);
        weights[s.name] = new ort.Tensor('float64', arr, [...s.shape]);
      }
      const { feeds, expected } = await batchAndExpectedLoss(kind, weights);
      const session = await getSession(buildTrainGraph(CONFIG, LOSSES[kind], 'float64').graph, { intraOpThreads: 1 });
      const run = async (): Promise<Record<string, ort.Tensor>> => session.run({ ...weights, ...feeds });
      const base = await run();
      const loss = Number(base.loss!.data[0]);
      assert.ok(Math.abs(loss - expected) < 1e-10, `${kind} loss ${loss} vs formula ${expected}`);

      const rng = new Rng(99);
      const h = 1e-6;
      let worst = 0;
      let nonzero = 0;
      for (const s of params.layout) {
        const arr = blobs.get(s.name)!;
        const analytic = base[GRAD_PREFIX + s.name]!.data as Float64Array;
        for (let k = 0; k < Math.min(4, arr.length); k++) {
          const i = rng.nextInt(arr.length);
          const orig = arr[i]!;
          arr[i] = orig + h;
          const up = Number((await run()).loss!.data[0]);
          arr[i] = orig - h;
          const down = Number((await run()).loss!.data[0]);
          arr[i] = orig;
          const numeric = (up - down) / (2 * h);
          const rel = Math.abs(analytic[i]! - numeric) / Math.max(1e-3, Math.abs(numeric));
          if (Math.abs(numeric) > 1e-8) nonzero++;
          worst = Math.max(worst, Math.abs(analytic[i]! - numeric));
          assert.ok(rel < 1e-5 || Math.abs(analytic[i]! - numeric) < 1e-9, `${kind} grad ${s.name}[${i}]: autodiff ${analytic[i]} vs numeric ${numeric}`);
        }
      }
      console.log(`${kind}: loss ${loss.toFixed(6)} (formula ${expected.toFixed(6)}), max |autodiff − numeric| ${worst.toExponential(2)} over sampled elements of every tensor`);
      assert.ok(nonzero > 40, `${kind}: only ${nonzero} sampled gradients are non-zero; the check would be vacuous`);
    });
  }
});
