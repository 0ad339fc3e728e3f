// The whole-model reference test in the manner of llm.c's test_gpt2.c: a fixed tiny GPT
// and batch; the training graph's loss and EVERY gradient tensor compared with an
// independent computation (plain-TS float64 forward, differentiated numerically), with
// maxdiff printed per tensor; then a short AdamW run whose loss trajectory is pinned and
// matches the same run driven by the reference gradients.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GptConfig, ParameterSet } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { buildTrainGraph, GRAD_PREFIX } from '../../../../src/engine/train/train-graph.js';
import { getSession, ort } from '../../../../src/engine/graph/session.js';
import { Trainer } from '../../../../src/engine/train/trainer.js';
import { Batch } from '../../../../src/engine/train/train-step.js';
import { AdamW } from '../../../../src/engine/optim/adamw.js';
import { clipGlobalNorm } from '../../../../src/engine/optim/clip.js';
import { cosineWithWarmup } from '../../../../src/engine/optim/schedule.js';
import { Rng } from '../../../../src/engine/rng.js';
import { sftLoss } from '../../../../src/rlhf/sft/sft.loss.js';
import { assertGradientsMatchReference, numericGradients, referenceSftLoss, splitParams } from './reference-gpt.js';

const CONFIG: GptConfig = { vocabSize: 16, maxSeqLen: 8, channels: 8, layers: 2, heads: 2 };
const B = 2, T = 6;

/** Initialized parameters, then perturbed so LayerNorm gains, biases and heads are not trivially 1/0. */
function fixedParams(): ParameterSet {
  const p = initGptParameters(CONFIG, 42);
  const rng = new Rng(43);
  for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + 0.1 * rng.normal();
  return p;
}

function fixedBatch(): { tokens: number[]; targets: number[]; mask: number[] } {
  const rng = new Rng(44);
  const seq = Array.from({ length: B * (T + 1) }, () => rng.nextInt(CONFIG.vocabSize));
  const tokens: number[] = [], targets: number[] = [], mask: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      tokens.push(seq[b * (T + 1) + t]!);
      targets.push(seq[b * (T + 1) + t + 1]!);
      mask.push(t >= 2 ? 1 : 0); // the first two positions play the prompt: not learned
    }
  }
  return { tokens, targets, mask };
}

function toBatch(d: ReturnType<typeof fixedBatch>): Batch {
  return {
    tokens: { data: BigInt64Array.from(d.tokens.map(BigInt)), shape: [B, T] },
    targets: { data: BigInt64Array.from(d.targets.map(BigInt)), shape: [B, T] },
    loss_mask: { data: Float32Array.from(d.mask), shape: [B, T] },
  };
}

describe('GPT reference (llm.c test_gpt2 style)', () => {
  const params = fixedParams();
  const data = fixedBatch();
  const ref = splitParams(CONFIG, params.data);
  const refLoss = referenceSftLoss(CONFIG, ref, data.tokens, data.targets, data.mask, B, T);
  const refGrads = numericGradients(ref, () => referenceSftLoss(CONFIG, ref, data.tokens, data.targets, data.mask, B, T));

  for (const floatType of ['float64', 'float32'] as const) {
    // float64: the graph must agree with the reference to FD precision; float32: to single precision.
    const tol = floatType === 'float64' ? { loss: 1e-10, grad: 1e-7 } : { loss: 2e-5, grad: 5e-5 };
    it(`${floatType} training graph: loss and every gradient tensor match the independent reference`, async () => {
      const { graph } = buildTrainGraph(CONFIG, sftLoss, floatType);
      const session = await getSession(graph, { intraOpThreads: 1 });
      const feeds: Record<string, ort.Tensor> = {};
      for (const s of params.layout) {
        const v = params.view(s.name);
        feeds[s.name] = floatType === 'float64' ? new ort.Tensor('float64', Float64Array.from(v), [...s.shape]) : new ort.Tensor('float32', v, [...s.shape]);
      }
      feeds.tokens = new ort.Tensor('int64', BigInt64Array.from(data.tokens.map(BigInt)), [B, T]);
      feeds.targets = new ort.Tensor('int64', BigInt64Array.from(data.targets.map(BigInt)), [B, T]);
      feeds.loss_mask = floatType === 'float64' ? new ort.Tensor('float64', Float64Array.from(data.mask), [B, T]) : new ort.Tensor('float32', Float32Array.from(data.mask), [B, T]);
      const out = await session.run(feeds);
      const loss = Number(out.loss!.data[0]);
      console.log(`[${floatType}] loss ${loss.toFixed(8)} reference ${refLoss.toFixed(8)} diff ${Math.abs(loss - refLoss).toExponential(2)}`);
      assert.ok(Math.abs(loss - refLoss) < tol.loss, `loss ${loss} vs reference ${refLoss}`);
      assertGradientsMatchReference(floatType, params.layout, (name) => out[GRAD_PREFIX + name]!.data as Float64Array | Float32Array, refGrads, tol.grad);
      // The check is meaningful only if the gradients are not all ~0.
      const norm = Math.sqrt([...refGrads.values()].reduce((a, g) => a + g.reduce((p, q) => p + q * q, 0), 0));
      assert.ok(norm > 0.1, `reference gradient norm ${norm} too small for a meaningful comparison`);
    });
  }

  it('AdamW trajectory: pinned losses, equal to the run driven by reference gradients', async () => {
    const steps = 8;
    const schedule = { maxLr: 1e-2, warmupSteps: 2, totalSteps: steps };
    const batch = toBatch(data);
    const trained = fixedParams();
    const trainer = await Trainer.create(CONFIG, sftLoss, trained, { schedule, maxGradNorm: 1.0, intraOpThreads: 1 });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push((await trainer.trainStep([batch])).loss);

    // The same loop with the reference forward + numeric gradients + the same optimizer.
    const refParams = fixedParams();
    const opt = new AdamW(refParams.layout);
    const grads = new Float32Array(refParams.data.length);
    const refLosses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const p = splitParams(CONFIG, refParams.data);
      const lossFn = (): number => referenceSftLoss(CONFIG, p, data.tokens, data.targets, data.mask, B, T);
      refLosses.push(lossFn());
      const g = numericGradients(p, lossFn);
      for (const spec of refParams.layout) grads.set(g.get(spec.name)!, spec.offset);
      clipGlobalNorm(grads, 1.0);
      opt.update(refParams.data, grads, cosineWithWarmup(s, schedule));
    }
    console.log('losses    ', losses.map((l) => l.toFixed(6)).join(' '));
    console.log('reference ', refLosses.map((l) => l.toFixed(6)).join(' '));
    for (let s = 0; s < steps; s++) assert.ok(Math.abs(losses[s]! - refLosses[s]!) < 1e-4, `step ${s}: ${losses[s]} vs reference ${refLosses[s]}`);
    // Pinned (like llm.c's expected_losses): catches any silent change to init, graph or optimizer.
    const PINNED = [2.774858, 2.657525, 2.488683, 2.350833, 2.240014, 2.15183, 2.095809, 2.063556];
    for (let s = 0; s < steps; s++) assert.ok(Math.abs(losses[s]! - PINNED[s]!) < 1e-4, `step ${s}: loss ${losses[s]} vs pinned ${PINNED[s]}`);
    assert.ok(losses[steps - 1]! < losses[0]! - 0.1, 'the loss must fall on a fixed batch');
  });
});
