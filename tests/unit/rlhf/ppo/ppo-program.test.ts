// PPO on a TrainThread: progress per step carries reward, KL, β and an ETA; cancel stops at a
// step boundary with the steps completed, and the checkpoints written remain for a resume.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainProgress } from '../../../../src/engine/train/trainer.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import { startPpo, type PpoProgramParams } from '../../../../src/rlhf/ppo/ppo.program.js';
import { DEFAULT_RUN_HEALTH } from '../../../../src/rlhf/ppo/run-health.js';
import { TOY_PROMPTS, toyWorld, writeToyPolicy } from './toy.js';

describe('PPO training program on a TrainThread', () => {
  it('reports reward, KL, β and ETA per step; cancel stops between steps; a rerun resumes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ppo-program-'));
    try {
      const toy = toyWorld();
      const policyDir = await writeToyPolicy(toy, join(root, 'policy'));
      const params: PpoProgramParams = {
        policyDir,
        reward: { moduleUrl: new URL('./toy-reward.js', import.meta.url).href, options: { target: 112 } },
        prompts: TOY_PROMPTS,
        outDir: join(root, 'run'),
        options: { steps: 4, promptsPerStep: 4, maxTokens: 3, seed: 1, epochs: 1, miniBatches: 1, lr: 1e-3, checkpointEvery: 1, intraOpThreads: 1,
          // 3-token responses are always cut at max tokens: not a dead run here
          health: { ...DEFAULT_RUN_HEALTH, limits: { ...DEFAULT_RUN_HEALTH.limits, all_truncated: 1000 } } },
      };
      const seen: TrainProgress[] = [];
      const run = startPpo(params, { onProgress: (p) => { seen.push(p); if (p.step === 2) run.cancel(); } });
      // the flag is read between steps: the worker may already be in step 3 when it is set
      let stoppedAt = 0;
      await assert.rejects(run.done, (e: unknown) => e instanceof TrainingCancelledError && (stoppedAt = e.step) >= 2 && e.step < 4);
      assert.deepEqual(seen.map((p) => p.step), Array.from({ length: stoppedAt }, (_, i) => i + 1));
      for (const p of seen) {
        for (const k of ['reward', 'kl', 'kl_k3', 'beta']) assert.ok(Number.isFinite(p.metrics[k]), `${k} at step ${p.step}`);
        assert.ok(p.etaSeconds >= 0 && p.totalSteps === 4);
      }
      const resumed = await startPpo(params).done;
      assert.deepEqual(resumed.stop, { kind: 'completed' });
      assert.equal(resumed.resumedFromStep, stoppedAt);
      assert.deepEqual(resumed.checkpoints.map((c) => c.step), [1, 2, 3, 4]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
