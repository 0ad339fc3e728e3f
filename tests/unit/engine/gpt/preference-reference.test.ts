// The preference losses' first steps against the independent float64 reference
// (reference-gpt.ts; llm.c test_gpt2.c style, maxdiff printed per tensor). Both first
// steps sit exactly on log σ's old kink, where the composed graph used to double the
// gradient (issue 11):
//  - reward model: the seeded initialisation zeroes the reward head, so every reward is 0
//    and r_chosen − r_rejected − margin = 0 exactly;
//  - DPO: policy = reference, so every pair's logit β[(log π − log π_ref)_w − (…)_l] is 0.
// A third test pins the Bradley–Terry direction: training raises the chosen response.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GptConfig, ParameterSet } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { buildScoringGraph, buildTrainGraph, GRAD_PREFIX } from '../../../../src/engine/train/train-graph.js';
import type { LossBuilder } from '../../../../src/engine/train/loss.js';
import { rewardLoss } from '../../../../src/rlhf/reward/reward.loss.js';
import { dpoLoss } from '../../../../src/rlhf/dpo/dpo.loss.js';
import { Trainer } from '../../../../src/engine/train/trainer.js';
import { Batch } from '../../../../src/engine/train/train-step.js';
import { FloatType } from '../../../../src/engine/graph/builder.js';
import { getSession, ort } from '../../../../src/engine/graph/session.js';
import { Rng } from '../../../../src/engine/rng.js';
import { assertGradientsMatchReference, numericGradients, referenceDpoLoss, referenceRewardLoss, splitParams } from './reference-gpt.js';

const CONFIG: GptConfig = { vocabSize: 16, maxSeqLen: 8, channels: 8, layers: 2, heads: 2 };
const T = 6;
/** float64: FD precision of the reference; float32: single precision. */
const TOLERANCE: Record<FloatType, { loss: number; grad: number }> = { float64: { loss: 1e-12, grad: 1e-7 }, float32: { loss: 2e-6, grad: 5e-5 } };

/** A batch field: plain numbers, its shape, and whether it is an int64 input. */
interface Field { values: number[]; shape: number[]; int?: boolean }

function feeds(params: ParameterSet, fields: Record<string, Field | number>, floatType: FloatType): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  const float = (values: ArrayLike<number>, shape: number[]): ort.Tensor =>
    floatType === 'float64' ? new ort.Tensor('float64', Float64Array.from(values), shape) : new ort.Tensor('float32', Float32Array.from(values), shape);
  for (const s of params.layout) out[s.name] = float(params.view(s.name), [...s.shape]);
  for (const [name, f] of Object.entries(fields)) {
    if (typeof f === 'number') out[name] = float([f], []);
    else out[name] = f.int ? new ort.Tensor('int64', BigInt64Array.from(f.values.map(BigInt)), f.shape) : float(f.values, f.shape);
  }
  return out;
}

async function runTrainGraph(loss: LossBuilder, floatType: FloatType, params: ParameterSet, fields: Record<string, Field | number>): Promise<Record<string, ort.Tensor>> {
  const session = await getSession(buildTrainGraph(CONFIG, loss, floatType).graph, { intraOpThreads: 1 });
  return session.run(feeds(params, fields, floatType));
}

function randomTokens(rng: Rng, rows: number, lengths: number[]): number[] {
  // Right-padded with id 0 past each row's length, as the trainers batch them.
  return Array.from({ length: rows * T }, (_, i) => (i % T < lengths[Math.floor(i / T)]! ? rng.nextInt(CONFIG.vocabSize) : 0));
}

function perturbedParams(seed: number): ParameterSet {
  const p = initGptParameters(CONFIG, seed);
  const rng = new Rng(seed + 1);
  for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + 0.1 * rng.normal();
  return p;
}

describe('reward model against the float64 reference', () => {
  const B = 2;
  const lengths = [6, 4, 5, 3]; // chosen rows, then rejected rows
  const tokens = randomTokens(new Rng(21), 2 * B, lengths);
  const batch = (margin: number[]): Record<string, Field> => ({
    tokens: { values: tokens, shape: [2 * B, T], int: true },
    lengths: { values: lengths, shape: [2 * B], int: true },
    margin: { values: margin, shape: [B] },
  });

  const cases = [
    { name: 'first step from the seeded initialisation (reward head 0, margin 0: on the tie)', params: initGptParameters(CONFIG, 42), margin: [0, 0] },
    { name: 'perturbed weights and a margin (every trunk tensor gets a gradient)', params: perturbedParams(42), margin: [0.5, 0] },
  ];
  for (const c of cases) {
    const ref = splitParams(CONFIG, c.params.data);
    const lossFn = (): number => referenceRewardLoss(CONFIG, ref, tokens, lengths, c.margin, B, T);
    const refLoss = lossFn();
    const refGrads = numericGradients(ref, lossFn);
    for (const floatType of ['float64', 'float32'] as const) {
      it(`${c.name}, ${floatType}: loss and every gradient tensor match`, async () => {
        const out = await runTrainGraph(rewardLoss, floatType, c.params, batch(c.margin));
        const loss = Number(out.loss!.data[0]);
        console.log(`[reward ${floatType}] loss ${loss.toFixed(10)} reference ${refLoss.toFixed(10)}`);
        assert.ok(Math.abs(loss - refLoss) < TOLERANCE[floatType].loss, `loss ${loss} vs reference ${refLoss}`);
        assertGradientsMatchReference(`reward ${floatType}`, c.params.layout, (name) => out[GRAD_PREFIX + name]!.data as Float32Array | Float64Array, refGrads, TOLERANCE[floatType].grad);
      });
    }
  }

  it('the seeded initialisation really is on the tie: every reward 0, loss ln 2, a reward-head gradient to get right', () => {
    const ref = splitParams(CONFIG, initGptParameters(CONFIG, 42).data);
    assert.equal(referenceRewardLoss(CONFIG, ref, tokens, lengths, [0, 0], B, T), Math.LN2);
    const g = numericGradients(ref, () => referenceRewardLoss(CONFIG, ref, tokens, lengths, [0, 0], B, T));
    const norm = Math.hypot(...g.get('reward_head.w')!);
    assert.ok(norm > 0.1, `reward-head gradient norm ${norm} too small for the comparison to mean anything`);
  });
});

describe('DPO against the float64 reference', () => {
  const B = 2;
  const beta = 0.5;
  // Equal completion lengths within a pair keep the two sequence log-probs within a
  // factor of 2 of each other, which the exact-zero construction below relies on.
  const lengths = [6, 5, 6, 5];
  const rng = new Rng(31);
  const tokens = randomTokens(rng, 2 * B, lengths);
  const targets = Array.from({ length: 2 * B * T }, () => rng.nextInt(CONFIG.vocabSize));
  const mask = Array.from({ length: 2 * B * T }, (_, i) => (i % T >= 2 && i % T < lengths[Math.floor(i / T)]! ? 1 : 0));
  const params = perturbedParams(52);
  /**
   * Reference log-probs that put every pair EXACTLY on the tie, as policy = reference does
   * in a real first step. With refChosen = fl(π_w − π_l), the graph's own difference, and
   * refRejected = 0, Sterbenz's lemma makes fl(π_w − refChosen) = π_l exactly, so the logit
   * is 0 in floating point. Pair b's difference is read at β = 1 from a batch of the same
   * shape (row results can depend on the batch shape in float32) in which every other
   * pair's rejected row is a copy of its chosen row, so only pair b adds to the mean.
   */
  async function tiedReferenceLogprobs(floatType: FloatType): Promise<number[]> {
    const diffs: number[] = [];
    for (let b = 0; b < B; b++) {
      const isolate = <X>(xs: X[]): X[] => xs.map((x, i) => {
        const row = Math.floor(i / T);
        return row >= B && row - B !== b ? xs[(row - B) * T + (i % T)]! : x;
      });
      const out = await runTrainGraph(dpoLoss, floatType, params, {
        tokens: { values: isolate(tokens), shape: [2 * B, T], int: true },
        targets: { values: isolate(targets), shape: [2 * B, T], int: true },
        loss_mask: { values: isolate(mask), shape: [2 * B, T] },
        ref_chosen_logprobs: { values: [0, 0], shape: [B] },
        ref_rejected_logprobs: { values: [0, 0], shape: [B] },
        beta: 1,
      });
      diffs.push(Number(out.reward_margin!.data[0]) * B); // B = 2: the mean's scaling is exact
    }
    return diffs;
  }

  for (const floatType of ['float64', 'float32'] as const) {
    it(`first step with policy = reference (every logit exactly 0), ${floatType}: loss and every gradient tensor match`, async () => {
      const refChosen = await tiedReferenceLogprobs(floatType);
      const refRejected = [0, 0];
      const out = await runTrainGraph(dpoLoss, floatType, params, {
        tokens: { values: tokens, shape: [2 * B, T], int: true },
        targets: { values: targets, shape: [2 * B, T], int: true },
        loss_mask: { values: mask, shape: [2 * B, T] },
        ref_chosen_logprobs: { values: refChosen, shape: [B] },
        ref_rejected_logprobs: { values: refRejected, shape: [B] },
        beta,
      });
      // Mean 0 with none positive: every pair's logit is exactly 0.
      assert.equal(Number(out.reward_margin!.data[0]), 0, 'mean logit');
      assert.equal(Number(out.accuracy!.data[0]), 0, 'share of positive logits');

      const ref = splitParams(CONFIG, params.data);
      const lossFn = (): number => referenceDpoLoss(CONFIG, ref, tokens, targets, mask, refChosen, refRejected, beta, B, T);
      const refLoss = lossFn();
      const refGrads = numericGradients(ref, lossFn);
      const loss = Number(out.loss!.data[0]);
      console.log(`[dpo ${floatType}] loss ${loss.toFixed(10)} reference ${refLoss.toFixed(10)} (ln 2 = ${Math.LN2.toFixed(10)})`);
      assert.ok(Math.abs(loss - refLoss) < TOLERANCE[floatType].loss, `loss ${loss} vs reference ${refLoss}`);
      const norm = Math.sqrt([...refGrads.values()].reduce((a, g) => a + g.reduce((p, q) => p + q * q, 0), 0));
      assert.ok(norm > 0.05, `reference gradient norm ${norm} too small for the comparison to mean anything`);
      assertGradientsMatchReference(`dpo ${floatType}`, params.layout, (name) => out[GRAD_PREFIX + name]!.data as Float32Array | Float64Array, refGrads, TOLERANCE[floatType].grad);
    });
  }
});

describe('Bradley–Terry direction', () => {
  it('a few optimizer steps on one pair make the chosen response score higher than the rejected one', async () => {
    // P(chosen ≻ rejected) = σ(r_chosen − r_rejected) (Bradley & Terry 1952; Ouyang et al.
    // 2022, eq. 1 — some printings of the exponent have the sign the other way round).
    const lengths = [5, 4];
    const tokens = randomTokens(new Rng(41), 2, lengths);
    const params = initGptParameters(CONFIG, 42);
    const tokenIds = BigInt64Array.from(tokens.map(BigInt));
    const lengthValues = BigInt64Array.from(lengths.map(BigInt));
    const batch: Batch = {
      tokens: { data: tokenIds, shape: [2, T] },
      lengths: { data: lengthValues, shape: [2] },
      margin: { data: Float32Array.of(0), shape: [1] },
    };
    const trainer = await Trainer.create(CONFIG, rewardLoss, params, { schedule: { maxLr: 1e-2, warmupSteps: 0, totalSteps: 5 }, intraOpThreads: 1 });
    const first = await trainer.trainStep([batch]);
    assert.ok(Math.abs(first.loss - Math.LN2) < 1e-6, `first loss ${first.loss}: the zero reward head starts at ln 2`);
    let last = first;
    for (let s = 1; s < 5; s++) last = await trainer.trainStep([batch]);
    assert.ok(last.loss < first.loss, `loss ${first.loss} → ${last.loss} must fall`);

    const scoring = await getSession(buildScoringGraph(CONFIG), { intraOpThreads: 1 });
    const out = await scoring.run({
      ...feeds(trainer.params, {}, 'float32'),
      tokens: new ort.Tensor('int64', tokenIds, [2, T]),
      targets: new ort.Tensor('int64', new BigInt64Array(2 * T), [2, T]),
      lengths: new ort.Tensor('int64', lengthValues, [2]),
    });
    const [chosen, rejected] = Array.from(out.rewards!.data as Float32Array);
    console.log(`after 5 steps: r_chosen ${chosen} r_rejected ${rejected}`);
    assert.ok(chosen! > rejected!, `r_chosen ${chosen} must exceed r_rejected ${rejected}`);
  });
});
