import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GptConfig, ParameterSet, gptParameterCount } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { Trainer, TrainProgress } from '../../../../src/engine/train/trainer.js';
import { Batch, TrainStep, validateBatch } from '../../../../src/engine/train/train-step.js';
import { buildTrainGraph } from '../../../../src/engine/train/train-graph.js';
import { NonFiniteError, ShapeError, TokenRangeError } from '../../../../src/engine/errors.js';
import { Rng } from '../../../../src/engine/rng.js';
import { sftLoss } from '../../../../src/rlhf/sft/sft.loss.js';
import { AdamW } from '../../../../src/engine/optim/adamw.js';
import { clipGlobalNorm } from '../../../../src/engine/optim/clip.js';
import { cosineWithWarmup } from '../../../../src/engine/optim/schedule.js';
import { rewardLoss } from '../../../../src/rlhf/reward/reward.loss.js';

const CONFIG: GptConfig = { vocabSize: 20, maxSeqLen: 8, channels: 8, layers: 1, heads: 2 };
const SCHEDULE = { maxLr: 1e-2, warmupSteps: 1, totalSteps: 10 };

function sftBatch(B: number, T: number, seed: number): Batch {
  const rng = new Rng(seed);
  return {
    tokens: { data: BigInt64Array.from({ length: B * T }, () => BigInt(rng.nextInt(CONFIG.vocabSize))), shape: [B, T] },
    targets: { data: BigInt64Array.from({ length: B * T }, () => BigInt(rng.nextInt(CONFIG.vocabSize))), shape: [B, T] },
    loss_mask: { data: new Float32Array(B * T).fill(1), shape: [B, T] },
  };
}

function rows(batch: Batch, from: number, to: number, T: number): Batch {
  const out: Batch = {};
  for (const [k, v] of Object.entries(batch)) {
    if (typeof v === 'number') out[k] = v;
    else out[k] = { data: v.data.slice(from * T, to * T) as Float32Array | BigInt64Array, shape: [to - from, T] };
  }
  return out;
}

describe('batch validation at the boundary', () => {
  const train = buildTrainGraph(CONFIG, sftLoss);
  it('names the tensor with an out-of-range token id', () => {
    const b = sftBatch(2, 4, 1);
    (b.targets as { data: BigInt64Array }).data[5] = 20n;
    assert.throws(() => validateBatch(train, CONFIG, b), (e: unknown) => e instanceof TokenRangeError && e.tensor === 'targets' && e.index === 5);
  });
  it('names the tensor whose shape disagrees with the others', () => {
    const b = sftBatch(2, 4, 1);
    b.loss_mask = { data: new Float32Array(6), shape: [2, 3] };
    assert.throws(() => validateBatch(train, CONFIG, b), (e: unknown) => e instanceof ShapeError && e.tensor === 'loss_mask');
  });
  it('rejects T beyond the context and a missing field', () => {
    assert.throws(() => validateBatch(train, CONFIG, sftBatch(1, 9, 1)), (e: unknown) => e instanceof ShapeError && e.tensor === 'tokens');
    const b = sftBatch(1, 4, 1);
    delete b.loss_mask;
    assert.throws(() => validateBatch(train, CONFIG, b), (e: unknown) => e instanceof ShapeError && e.tensor === 'loss_mask');
  });
  it('reward batches need an even number of rows and lengths within T', () => {
    const rm = buildTrainGraph(CONFIG, rewardLoss);
    const ok: Batch = { tokens: { data: new BigInt64Array(4 * 3), shape: [4, 3] }, lengths: { data: BigInt64Array.of(3n, 2n, 1n, 3n), shape: [4] }, margin: { data: new Float32Array(2), shape: [2] } };
    validateBatch(rm, CONFIG, ok);
    assert.throws(() => validateBatch(rm, CONFIG, { ...ok, lengths: { data: BigInt64Array.of(3n, 4n, 1n, 3n), shape: [4] } }), (e: unknown) => e instanceof ShapeError && e.tensor === 'lengths');
    assert.throws(() => validateBatch(rm, CONFIG, { ...ok, margin: { data: new Float32Array(3), shape: [3] } }), (e: unknown) => e instanceof ShapeError && e.tensor === 'margin');
  });
});

describe('Trainer', () => {
  it('reports progress through the callback and lowers the loss on a fixed batch', async () => {
    const seen: TrainProgress[] = [];
    const trainer = await Trainer.create(CONFIG, sftLoss, initGptParameters(CONFIG, 1), { schedule: SCHEDULE, intraOpThreads: 1, onProgress: (p) => seen.push(p) });
    const batch = sftBatch(2, 8, 2);
    for (let s = 0; s < 10; s++) await trainer.trainStep([batch]);
    assert.equal(seen.length, 10);
    assert.deepEqual(seen.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(seen[9]!.loss < seen[0]!.loss - 0.3, `loss ${seen[0]!.loss} → ${seen[9]!.loss}`);
    assert.ok(seen.every((p) => p.tokensPerSecond > 0 && p.etaSeconds >= 0 && p.gradNorm > 0));
    assert.equal(seen[9]!.etaSeconds, 0);
  });

  it('gradient accumulation over two half batches equals one full batch (equal mask counts)', async () => {
    const batch = sftBatch(4, 6, 3);
    const full = await TrainStep.create(CONFIG, sftLoss, { intraOpThreads: 1 });
    const p = initGptParameters(CONFIG, 5);
    const gFull = new Float32Array(gptParameterCount(CONFIG));
    await full.run(p.data, batch, gFull);
    const a = await Trainer.create(CONFIG, sftLoss, p.clone(), { schedule: SCHEDULE, maxGradNorm: 0, intraOpThreads: 1 });
    await a.trainStep([rows(batch, 0, 2, 6), rows(batch, 2, 4, 6)]);
    let maxdiff = 0;
    for (let i = 0; i < gFull.length; i++) maxdiff = Math.max(maxdiff, Math.abs(a.grads[i]! - gFull[i]!));
    assert.ok(maxdiff < 1e-6, `accumulated vs full-batch gradient maxdiff ${maxdiff}`);
  });

  it('one step equals the unfused sequence: gradient, finiteness check, clip in place, AdamW', async () => {
    const batch = sftBatch(2, 6, 7);
    const p = initGptParameters(CONFIG, 9);
    const grads = new Float32Array(gptParameterCount(CONFIG));
    const step = await TrainStep.create(CONFIG, sftLoss, { intraOpThreads: 1 });
    for (const maxGradNorm of [1e-3, 0, 1e6]) { // clipping active; disabled; a threshold the norm never reaches
      const manual = p.clone();
      await step.run(manual.data, batch, grads);
      assert.ok(grads.every((g) => Number.isFinite(g)));
      const norm = clipGlobalNorm(grads, maxGradNorm);
      new AdamW(manual.layout).update(manual.data, grads, cosineWithWarmup(0, SCHEDULE));
      const trainer = await Trainer.create(CONFIG, sftLoss, p.clone(), { schedule: SCHEDULE, maxGradNorm, intraOpThreads: 1 });
      const progress = await trainer.trainStep([batch]);
      assert.ok(Math.abs(progress.gradNorm - norm) <= 1e-9 * norm, `norm ${progress.gradNorm} vs ${norm}`);
      let maxdiff = 0;
      for (let i = 0; i < manual.data.length; i++) maxdiff = Math.max(maxdiff, Math.abs(trainer.params.data[i]! - manual.data[i]!));
      assert.ok(maxdiff < 1e-7, `maxGradNorm ${maxGradNorm}: fused vs unfused parameters differ by ${maxdiff}`);
    }
  });

  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`a ${bad} gradient with a finite loss names the gradient tensor and element and leaves the parameters untouched`, async () => {
      const params = initGptParameters(CONFIG, 1);
      const before = params.data.slice();
      const trainer = await Trainer.create(CONFIG, sftLoss, params, { schedule: SCHEDULE, intraOpThreads: 1 });
      const spec = params.layout.find((s) => s.name === 'h.0.mlp.fc.b')!;
      const run = trainer.stepRunner.run.bind(trainer.stepRunner);
      trainer.stepRunner.run = async (p, b, out, validate) => {
        const result = await run(p, b, out, validate);
        out[spec.offset + 3] = bad;
        return result;
      };
      await assert.rejects(trainer.trainStep([sftBatch(1, 4, 1)]), (e: unknown) => e instanceof NonFiniteError && e.tensor === 'grad.h.0.mlp.fc.b' && e.index === 3 && Object.is(e.value, bad));
      assert.deepEqual(params.data, before);
      assert.equal(trainer.optimizer.step, 0);
      await assert.rejects(trainer.checkpoint(() => undefined), NonFiniteError);
    });
  }

  it('a NaN parameter raises NonFiniteError naming the tensor, leaves the parameters untouched and refuses checkpoints', async () => {
    const params: ParameterSet = initGptParameters(CONFIG, 1);
    params.view('h.0.mlp.fc.b')[3] = Number.NaN;
    const before = params.data.slice();
    const trainer = await Trainer.create(CONFIG, sftLoss, params, { schedule: SCHEDULE, intraOpThreads: 1 });
    await assert.rejects(trainer.trainStep([sftBatch(1, 4, 1)]), (e: unknown) => e instanceof NonFiniteError && e.tensor === 'loss' && e.retriable === false);
    assert.deepEqual(Array.from(params.data.subarray(0, 50)), Array.from(before.subarray(0, 50)));
    let written = false;
    await assert.rejects(trainer.checkpoint(() => { written = true; }), NonFiniteError);
    assert.equal(written, false);
    await assert.rejects(trainer.trainStep([sftBatch(1, 4, 1)]), NonFiniteError);
  });
});

describe('GptScorer', () => {
  it('scores log-probs that agree with the SFT loss of the same batch', async () => {
    const { GptScorer } = await import('../../../../src/engine/train/scorer.js');
    const p = initGptParameters(CONFIG, 9);
    const batch = sftBatch(2, 5, 4);
    const scorer = await GptScorer.create(CONFIG, { intraOpThreads: 1 });
    const s = await scorer.score(p.data, {
      tokens: (batch.tokens as { data: BigInt64Array }).data,
      targets: (batch.targets as { data: BigInt64Array }).data,
      lengths: BigInt64Array.of(5n, 5n),
      batch: 2,
      seqLen: 5,
    });
    const step = await TrainStep.create(CONFIG, sftLoss, { intraOpThreads: 1 });
    const out = await step.run(p.data, batch, new Float32Array(gptParameterCount(CONFIG)));
    const meanNll = -s.logprobs.reduce((a, b) => a + b, 0) / s.logprobs.length;
    assert.ok(Math.abs(meanNll - out.loss) < 1e-5, `scorer mean NLL ${meanNll} vs SFT loss ${out.loss}`);
    assert.equal(s.rewards.length, 2);
    assert.ok(s.entropy.every((e) => e > 0 && e <= Math.log(CONFIG.vocabSize) + 1e-5));
  });
});
