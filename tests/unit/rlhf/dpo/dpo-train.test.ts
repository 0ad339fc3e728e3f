// DPO on a toy preference: for every prompt the chosen answer is one text and the rejected
// another. Before training the policy is its own reference, so every implicit reward is 0;
// after training the implicit reward β·log(π/π_ref) ranks the chosen answer above the
// rejected one on every pair, and on a prompt the training never saw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isArtifactDir, readArtifact } from '../../../../src/engine/artifact/artifact.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import { startDpo, type DpoProgramParams } from '../../../../src/rlhf/dpo/dpo.program.js';
import { GptScorer } from '../../../../src/engine/train/scorer.js';
import { implicitRewards, trainDpo } from '../../../../src/rlhf/dpo/dpo-train.js';
import { TOY_PROMPTS, toyWorld, writeToyPolicy } from '../ppo/toy.js';

describe('DPO', () => {
  it("the implicit reward orders a toy preference after training (and is 0 before)", async () => {
    const toy = toyWorld();
    const train = TOY_PROMPTS.slice(0, 6);
    const pairs = train.map((prompt) => ({ prompt, chosen: 'Use kill.', rejected: 'The lazy dog.' }));
    const beta = 0.1;
    const scorer = await GptScorer.create(toy.config, { intraOpThreads: 1 });
    const before = await implicitRewards({ scorer, policy: toy.params, reference: toy.params, tokenizer: toy.tokenizer }, [{ prompt: train[0]!, response: 'Use kill.' }], beta);
    assert.equal(before[0], 0);

    const r = await trainDpo({ config: toy.config, tokenizer: toy.tokenizer, policy: toy.params, pairs }, { beta, steps: 15, batchSize: 3, lr: 3e-3, seed: 1, intraOpThreads: 1 });
    assert.ok(r.losses.at(-1)! < r.losses[0]!, `loss ${r.losses[0]} → ${r.losses.at(-1)}`);
    const items = [...TOY_PROMPTS].flatMap((prompt) => [{ prompt, response: 'Use kill.' }, { prompt, response: 'The lazy dog.' }]);
    const rewards = await implicitRewards({ scorer, policy: r.params, reference: toy.params, tokenizer: toy.tokenizer }, items, beta);
    for (let i = 0; i < TOY_PROMPTS.length; i++) {
      assert.ok(rewards[2 * i]! > rewards[2 * i + 1]!, `${TOY_PROMPTS[i]}${i >= 6 ? ' (held out)' : ''}: chosen ${rewards[2 * i]} ≤ rejected ${rewards[2 * i + 1]}`);
    }
  });
});

describe('DPO training program on a TrainThread', () => {
  it('writes a servable artifact whose implicit reward orders the pairs; cancel writes nothing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dpo-program-'));
    try {
      const toy = toyWorld();
      const policyDir = await writeToyPolicy(toy, join(root, 'policy'));
      const pairs = TOY_PROMPTS.map((prompt) => ({ prompt, chosen: 'Use kill.', rejected: 'The lazy dog.' }));
      const params: DpoProgramParams = { policyDir, pairs, outDir: join(root, 'dpo'), options: { beta: 0.1, steps: 10, batchSize: 4, lr: 3e-3, seed: 1, intraOpThreads: 1 } };

      const cancelled = startDpo({ ...params, outDir: join(root, 'cancelled') }, { onProgress: (p) => p.step === 2 && cancelled.cancel() });
      // the flag is read between steps: the worker may already be in step 3 when it is set
      await assert.rejects(cancelled.done, (e: unknown) => e instanceof TrainingCancelledError && e.step >= 2 && e.step < 10);
      assert.equal(await isArtifactDir(join(root, 'cancelled')), false);

      const steps: number[] = [];
      const r = await startDpo(params, { onProgress: (p) => steps.push(p.step) }).done;
      assert.deepEqual(steps, Array.from({ length: 10 }, (_, i) => i + 1));
      const trained = await readArtifact(params.outDir);
      assert.equal(trained.manifest.artifactId, r.manifest.artifactId);
      assert.equal(trained.manifest.parentArtifactId, (await readArtifact(policyDir)).manifest.artifactId);
      const scorer = await GptScorer.create(toy.config, { intraOpThreads: 1 });
      const [chosen, rejected] = await implicitRewards({ scorer, policy: trained.params, reference: toy.params, tokenizer: toy.tokenizer }, [{ prompt: TOY_PROMPTS[0]!, response: 'Use kill.' }, { prompt: TOY_PROMPTS[0]!, response: 'The lazy dog.' }], 0.1);
      assert.ok(chosen! > rejected!, `chosen ${chosen} ≤ rejected ${rejected}`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
