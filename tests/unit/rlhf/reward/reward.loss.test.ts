// The Bradley–Terry sign (ARCHITECTURE §6: the paper's Eq. 1 prints the exponent with the
// opposite sign). The reward loss is −log σ(r_chosen − r_rejected): training on it must
// make the CHOSEN response score higher — checked with the scoring graph, independently of
// the loss's own metrics. With the misprinted sign the same steps would rank them the
// other way round, and this test fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GptConfig } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { GptScorer } from '../../../../src/engine/train/scorer.js';
import { Trainer } from '../../../../src/engine/train/trainer.js';
import type { Batch } from '../../../../src/engine/train/train-step.js';
import { rewardLoss } from '../../../../src/rlhf/reward/reward.loss.js';

const CONFIG: GptConfig = { vocabSize: 16, maxSeqLen: 8, channels: 16, layers: 1, heads: 2 };
const B = 4, T = 6;
// chosen rows end in token 7, rejected rows in token 9; the prompts are shared
const prompt = (b: number): number[] => [1 + b, 2, 3, 4 + (b % 2), 5];
const chosen = Array.from({ length: B }, (_, b) => [...prompt(b), 7]);
const rejected = Array.from({ length: B }, (_, b) => [...prompt(b), 9]);

function pairBatch(margin = 0): Batch {
  const rows = [...chosen, ...rejected];
  return {
    tokens: { data: BigInt64Array.from(rows.flat().map(BigInt)), shape: [2 * B, T] },
    lengths: { data: new BigInt64Array(2 * B).fill(BigInt(T)), shape: [2 * B] },
    margin: { data: new Float32Array(B).fill(margin), shape: [B] },
  };
}

describe('reward loss (Bradley–Terry)', () => {
  it('starts at log 2 with the seeded (all-zero) reward head: no preference yet', async () => {
    const trainer = await Trainer.create(CONFIG, rewardLoss, initGptParameters(CONFIG, 1), { schedule: { maxLr: 0, warmupSteps: 0, totalSteps: 1 }, intraOpThreads: 1 });
    const p = await trainer.trainStep([pairBatch()]);
    assert.ok(Math.abs(p.loss - Math.LN2) < 1e-6, `loss ${p.loss}`);
    assert.equal(p.metrics.accuracy, 0, 'a tie is not a correct ranking');
  });

  it('training ranks the chosen response above the rejected one (scored independently)', async () => {
    const params = initGptParameters(CONFIG, 1);
    const trainer = await Trainer.create(CONFIG, rewardLoss, params, { schedule: { maxLr: 1e-2, warmupSteps: 0, totalSteps: 20 }, intraOpThreads: 1 });
    let last = null;
    for (let s = 0; s < 20; s++) last = await trainer.trainStep([pairBatch()]);
    assert.ok(last!.loss < Math.LN2 - 0.1, `loss ${last!.loss} did not fall below log 2`);
    assert.equal(last!.metrics.accuracy, 1);

    const scorer = await GptScorer.create(CONFIG, { intraOpThreads: 1 });
    const rows = [...chosen, ...rejected];
    const scored = await scorer.score(params.data, {
      tokens: BigInt64Array.from(rows.flat().map(BigInt)),
      targets: new BigInt64Array(2 * B * T),
      lengths: new BigInt64Array(2 * B).fill(BigInt(T)),
      batch: 2 * B,
      seqLen: T,
    });
    for (let b = 0; b < B; b++) assert.ok(scored.rewards[b]! > scored.rewards[B + b]!, `pair ${b}: r_chosen ${scored.rewards[b]} vs r_rejected ${scored.rewards[B + b]}`);
  });

  it('a margin asks for a larger gap: same rewards, higher loss', async () => {
    const params = initGptParameters(CONFIG, 1);
    const trainer = await Trainer.create(CONFIG, rewardLoss, params, { schedule: { maxLr: 0, warmupSteps: 0, totalSteps: 2 }, intraOpThreads: 1 });
    const [without, withMargin] = [await trainer.trainStep([pairBatch(0)]), await trainer.trainStep([pairBatch(1)])];
    // r_c = r_r = 0: −log σ(−1) = log(1 + e) > log 2
    assert.ok(Math.abs(withMargin.loss - Math.log1p(Math.E)) < 1e-6 && withMargin.loss > without.loss, `${without.loss} → ${withMargin.loss}`);
  });
});
