// Reward-model training end to end on a tiny GPT: deterministic artifacts, resume after a
// kill (a cancel on the TrainThread after a checkpoint) to the same sha256, NaN → no
// artifact, too few pairs → a typed error, and the centering term's gradient.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact, writeArtifact } from '../../../../src/engine/artifact/artifact.js';
import { NonFiniteError } from '../../../../src/engine/errors.js';
import type { GptConfig } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { RewardScorer } from '../../../../src/engine/runtime/reward-scorer.js';
import { RewardScorerThread } from '../../../../src/engine/runtime/reward-scorer-thread.js';
import { readRewardArtifact } from '../../../../src/engine/artifact/reward-artifact.js';
import { HeldOutScorer } from '../../../../src/rlhf/reward/train-rm.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import { TrainStep } from '../../../../src/engine/train/train-step.js';
import { rewardLossWith } from '../../../../src/rlhf/reward/reward.loss.js';
import { RewardDataError } from '../../../../src/rlhf/reward/rm-data.js';
import { runRewardTraining, startRewardTraining, type RewardTrainingParams } from '../../../../src/rlhf/reward/train-rm.program.js';
import { scenarioPreferenceRows, tinyPolicyArtifact } from './support.js';

const tmp = (p: string): Promise<string> => mkdtemp(join(tmpdir(), p));

describe('reward-model training (tiny GPT)', () => {
  let policyDir: string;
  const data = scenarioPreferenceRows({ seed: 3, count: 160, bias: 'honest' });
  before(async () => {
    policyDir = await tinyPolicyArtifact();
  });

  const params = async (over: Partial<RewardTrainingParams> = {}): Promise<RewardTrainingParams> => ({
    snapshotId: 'test-snapshot',
    train: data.train,
    heldout: data.heldout,
    policyDir,
    outDir: await tmp('rm-out-'),
    checkpointDir: await tmp('rm-ckpt-'),
    config: { seed: 7, ensemble: 2, epochs: 2, maxTokens: 1024, maxPairs: 16, lr: 3e-3, checkpointEvery: 3, evalEvery: 4, patience: 0 },
    minPairs: 10,
    trainingRunId: 'run-1',
    createdAt: '2026-01-01T00:00:00.000Z',
    intraOpThreads: 1,
    ...over,
  });

  it('same data + seed + config → same artifact sha256, also after a kill and resume', async () => {
    const uninterrupted = await runRewardTraining(await params());
    assert.equal(uninterrupted.manifest.members, 2);
    assert.ok(uninterrupted.members.every((m) => m.steps > 3), 'members trained several steps');

    const p = await params();
    let killedAt = 0;
    const run = startRewardTraining(p, {
      onProgress: (pr) => {
        if (pr.step >= 8 && killedAt === 0) {
          killedAt = pr.step;
          run.cancel();
        }
      },
    });
    await assert.rejects(run.done, (e: unknown) => e instanceof TrainingCancelledError);
    assert.ok(killedAt >= 8);
    assert.equal(existsSync(join(p.outDir, 'manifest.json')), false, 'a killed run writes no artifact');
    const resumed = await startRewardTraining(p).done;
    assert.ok(resumed.members.some((m) => m.resumedFromStep > 0), 'the second run resumed from a checkpoint');
    assert.equal(resumed.manifest.artifactId, uninterrupted.manifest.artifactId);
    assert.equal(resumed.manifest.files['score.onnx']!.sha256, uninterrupted.manifest.files['score.onnx']!.sha256);

    // the artifact scores as the report says: per-member scores at batch 1 equal batch 64
    const scorer = await RewardScorer.load(p.outDir, { intraOpThreads: 1, maxBatch: 1 });
    const wide = await RewardScorer.load(p.outDir, { intraOpThreads: 1, maxBatch: 64 });
    const inputs = [{ prompt: [1, 2, 3], response: [4, 5] }, { prompt: [7, 8], response: [9, 10, 11, 12] }];
    const [a, b] = [await scorer.score(inputs), await wide.score(inputs)];
    assert.equal(a.scores.length, 2);
    for (let k = 0; k < 2; k++) for (let i = 0; i < 2; i++) assert.ok(Math.abs(a.scores[k]![i]! - b.scores[k]![i]!) < 1e-5);
    assert.notEqual(a.scores[0]![0], a.scores[1]![0], 'members differ (seeds and bootstrap resamples)');

    // the same scores from a worker thread, and from each member's weights through the training-time graph
    const thread = await RewardScorerThread.load(p.outDir, { intraOpThreads: 1 });
    const c = await thread.score(inputs);
    await thread.close();
    const { members } = await readRewardArtifact(p.outDir);
    const heldOut = await HeldOutScorer.create(members[0]!.config, { intraOpThreads: 1 });
    for (let k = 0; k < 2; k++) {
      const direct = await heldOut.score(members[k]!, [Int32Array.of(1, 2, 3, 4, 5), Int32Array.of(7, 8, 9, 10, 11, 12)]);
      for (let i = 0; i < 2; i++) {
        assert.equal(c.scores[k]![i], a.scores[k]![i]);
        assert.ok(Math.abs(direct[i]! - a.scores[k]![i]!) < 1e-5, `member ${k} input ${i}: ${direct[i]} vs ${a.scores[k]![i]}`);
      }
    }
  });

  it('a checkpoint of another run is refused, naming it', async () => {
    const p = await params({ config: { seed: 7, ensemble: 1, epochs: 1, maxTokens: 1024, maxPairs: 16, checkpointEvery: 2 } });
    await runRewardTraining(p);
    await assert.rejects(runRewardTraining({ ...p, config: { ...p.config, seed: 8 } }), (e: Error & { code?: string }) => e.code === 'reward_checkpoint_invalid' && /member-0\.ckpt/.test(e.message));
  });

  it('NaN in the weights → NonFiniteError and no artifact', async () => {
    const bad = await tmp('rm-nan-policy-');
    const policy = await readArtifact(policyDir);
    policy.params.view('h.0.mlp.fc.w')[3] = Number.NaN;
    await writeArtifact(bad, { config: policy.config, params: policy.params, tokenizer: policy.tokenizer, meta: { kind: 'policy' } }, null);
    const p = await params({ policyDir: bad });
    await assert.rejects(runRewardTraining(p), (e: unknown) => e instanceof NonFiniteError);
    assert.equal(existsSync(join(p.outDir, 'manifest.json')), false);
  });

  it('fewer pairs than the minimum → RewardDataError naming the snapshot; nothing written', async () => {
    const p = await params({ minPairs: 100_000 });
    await assert.rejects(runRewardTraining(p), (e: unknown) => e instanceof RewardDataError && e.message.includes('test-snapshot') && e.message.includes('100000'));
    assert.equal(existsSync(join(p.outDir, 'manifest.json')), false);
  });
});

describe('reward loss: centering term', () => {
  const CONFIG: GptConfig = { vocabSize: 16, maxSeqLen: 8, channels: 8, layers: 1, heads: 2 };
  const B = 3, T = 5;
  const batch = {
    tokens: { data: BigInt64Array.from(Array.from({ length: 2 * B * T }, (_, i) => BigInt((i * 7) % 16))), shape: [2 * B, T] },
    lengths: { data: BigInt64Array.from([5n, 4n, 3n, 5n, 2n, 4n]), shape: [2 * B] },
    margin: { data: new Float32Array(B), shape: [B] },
  };

  it('adds λ·mean((r_c + r_r)²) to the loss; its gradient matches finite differences', async () => {
    const params = initGptParameters(CONFIG, 3);
    params.view('reward_head.w').set(Array.from({ length: 8 }, (_, i) => 0.3 * Math.sin(i + 1)));
    params.view('reward_head.b')[0] = 0.4;
    const lambda = 0.5;
    const plain = await TrainStep.create(CONFIG, rewardLossWith(), { intraOpThreads: 1 });
    const centred = await TrainStep.create(CONFIG, rewardLossWith({ centering: lambda }), { intraOpThreads: 1 });
    const grads = new Float32Array(params.data.length);
    const out = await centred.run(params.data, batch, grads);
    const base = await plain.run(params.data, batch, new Float32Array(params.data.length));
    assert.ok(Math.abs(out.loss - (base.loss + lambda * out.metrics.centering!)) < 1e-5, `${out.loss} vs ${base.loss} + ${lambda}·${out.metrics.centering}`);
    assert.ok(out.metrics.centering! > 0.1, 'a head with bias 0.4 is off centre');
    // the bias moves r_c + r_r by 2 per unit: d/db λ·mean((r_c + r_r)²) = 4λ·mean(r_c + r_r) ≠ 0
    const scratch = new Float32Array(params.data.length);
    for (const name of ['reward_head.b', 'h.0.mlp.fc.w']) {
      const spec = params.spec(name);
      const i = spec.offset + (name === 'reward_head.b' ? 0 : 5);
      const eps = 1e-2;
      const keep = params.data[i]!;
      params.data[i] = keep + eps;
      const up = (await centred.run(params.data, batch, scratch)).loss;
      params.data[i] = keep - eps;
      const down = (await centred.run(params.data, batch, scratch)).loss;
      params.data[i] = keep;
      const fd = (up - down) / (2 * eps);
      assert.ok(Math.abs(fd - grads[i]!) < 2e-3 + 2e-2 * Math.abs(fd), `${name}: autodiff ${grads[i]} vs finite differences ${fd}`);
    }
  });
});
