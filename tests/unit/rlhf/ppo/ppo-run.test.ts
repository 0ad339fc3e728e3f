// PPO end to end on a toy task with a known optimum: the reward is 1 when the response
// starts with one particular token (one the starting policy emits only sometimes). The
// run must reach it — the policy opens with that token almost always — while the KL to
// the reference stays bounded, and the adaptive KL controller must move β the right way
// on the KL the run actually measured.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readArtifact } from '../../../../src/engine/artifact/artifact.js';
import { latestCheckpoint } from '../../../../src/engine/artifact/training-state.js';
import { BatchEngine } from '../../../../src/engine/runtime/batch-engine.js';
import { NonFiniteError } from '../../../../src/engine/errors.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import type { RewardFunction } from '../../../../src/rlhf/ppo/reward-function.js';
import { runPpo, type PpoOptions } from '../../../../src/rlhf/ppo/ppo-run.js';
import { denseReward as denseRewardOf, firstTokenFrequencies, firstTokenReward, RELAXED_HEALTH, RESUME_OPTIONS, TOY_PROMPTS, toyWorld } from './toy.js';

const toy = toyWorld();
const relaxed = RELAXED_HEALTH;

async function pickTarget(): Promise<{ target: number; p0: number }> {
  const freq = await firstTokenFrequencies(toy, toy.params, 64, 11);
  const ranked = [...freq.entries()].sort((a, b) => b[1] - a[1]);
  const moderate = ranked.find(([, p]) => p >= 0.05 && p <= 0.35) ?? ranked[1] ?? ranked[0]!;
  return { target: moderate[0], p0: moderate[1] };
}

describe('PPO on a toy task (reward for one particular first token)', () => {
  it('reaches the optimum within 30 steps with bounded KL; adaptive β follows the measured KL', async () => {
    const { target, p0 } = await pickTarget();
    const target_kl = 0.5;
    const result = await runPpo({
      config: toy.config,
      tokenizer: toy.tokenizer,
      policy: toy.params,
      reference: toy.params,
      reward: firstTokenReward(target),
      prompts: TOY_PROMPTS,
      options: {
        steps: 30, promptsPerStep: 16, maxTokens: 3, seed: 5, epochs: 2, miniBatches: 2, lr: 3e-3,
        kl: { kind: 'adaptive', initial: 0.05, target: target_kl, horizon: 100 },
        health: relaxed,
        intraOpThreads: 1,
      },
    });
    const rewards = result.history.map((m) => m.reward_mean);
    const last = rewards.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.deepEqual(result.stop, { kind: 'completed' });
    assert.ok(Math.max(...rewards) === 1, `no batch reached the optimum (reward 1): ${rewards.map((r) => r.toFixed(2)).join(' ')}`);
    assert.ok(last >= 0.8, `mean reward of the last 5 steps ${last.toFixed(3)} (start ${p0.toFixed(3)}): ${rewards.map((r) => r.toFixed(2)).join(' ')}`);
    // the optimum costs −log p_ref(target) ≈ 2.2 nats at the first token; the two tokens after it
    // drift freely (no reward on them) under a small β, so the bound is loose but finite
    const maxKl = Math.max(...result.history.map((m) => m.kl_k3));
    assert.ok(maxKl < 10, `KL k3 reached ${maxKl.toFixed(3)} nats (first-token optimum ≈ ${(-Math.log(p0)).toFixed(3)})`);
    // adaptive KL: β_{t+1} vs β_t has the sign of KL_t − target on every step
    for (let i = 0; i + 1 < result.history.length; i++) {
      const m = result.history[i]!;
      const next = result.history[i + 1]!.beta;
      if (m.kl_k1 > target_kl) assert.ok(next > m.beta, `step ${m.step}: KL ${m.kl_k1} > target but β ${m.beta} → ${next}`);
      if (m.kl_k1 < target_kl) assert.ok(next < m.beta, `step ${m.step}: KL ${m.kl_k1} < target but β ${m.beta} → ${next}`);
    }
    assert.ok(result.history.some((m) => m.kl_k1 > target_kl) && result.history.some((m) => m.kl_k1 < target_kl), 'the run crossed the KL target both ways');
    for (const m of result.history) for (const [k, v] of Object.entries(m)) assert.ok(Number.isFinite(v), `${k} = ${v} at step ${m.step}`);
  });
});

const denseReward = denseRewardOf(toy);

describe('PPO checkpoints and resume', () => {
  const options: PpoOptions = { ...RESUME_OPTIONS };
  const input = (outDir: string, cancelAfter?: number) => ({
    config: toy.config,
    tokenizer: toy.tokenizer,
    policy: toy.params,
    reference: toy.params,
    reward: denseReward,
    prompts: TOY_PROMPTS,
    outDir,
    options,
    ...(cancelAfter !== undefined ? { cancelRequested: () => completed >= cancelAfter } : {}),
    onStep: (m: { step: number }) => (completed = m.step),
  });
  let completed = 0;

  for (const critic of ['shared', 'separate'] as const) {
    it(`a run stopped after step 3 resumes from the step-2 checkpoint and ends with the uninterrupted artifact hash (${critic} critic)`, async () => {
      options.critic = critic;
      const root = await mkdtemp(join(tmpdir(), 'ppo-resume-'));
      try {
        completed = 0;
        const full = await runPpo(input(join(root, 'full')));
        assert.deepEqual(full.checkpoints.map((c) => c.step), [2, 4]);

        completed = 0;
        await assert.rejects(runPpo(input(join(root, 'killed'), 3)), (e: unknown) => e instanceof TrainingCancelledError && e.step === 3);
        const resumed = await runPpo(input(join(root, 'killed')));
        assert.equal(resumed.resumedFromStep, 2);
        assert.deepEqual(resumed.checkpoints.map((c) => c.step), [2, 4]);
        assert.equal(resumed.checkpoints[1]!.artifactId, full.checkpoints[1]!.artifactId);
        assert.deepEqual(resumed.history.map((m) => m.reward_mean), full.history.map((m) => m.reward_mean));
        assert.equal(resumed.finalBeta, full.finalBeta);
        assert.deepEqual(resumed.history.map((m) => m.value_loss), full.history.map((m) => m.value_loss));
        // the checkpoint is a servable policy artifact: the serving runtime loads and runs it
        const served = await BatchEngine.load(resumed.checkpoints[1]!.dir, { maxBatch: 1, intraOpThreads: 1 });
        try {
          const r = await served.generate({ prompt: [{ special: '<|user|>' }, { text: 'hi' }, { special: '<|assistant|>' }], maxTokens: 2, temperature: 0, topP: 1 });
          assert.ok(r.completionTokens >= 1);
          assert.equal(served.manifest.artifactId, full.checkpoints[1]!.artifactId);
        } finally {
          await served.close();
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }

  it('SIGKILL after step 3 (child process): a rerun resumes from the step-2 checkpoint and ends with the same artifact hash', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ppo-sigkill-'));
    try {
      options.critic = 'shared';
      const full = await runPpo(input(join(root, 'full')));
      const killedDir = join(root, 'killed');
      const child = spawn(process.execPath, [fileURLToPath(new URL('./ppo-child.js', import.meta.url)), killedDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('step 3\n')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before step 3: ${out}`)));
      });
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      assert.equal((await latestCheckpoint(killedDir))?.step, 2);
      completed = 0;
      const resumed = await runPpo(input(killedDir));
      assert.equal(resumed.resumedFromStep, 2);
      assert.equal(resumed.checkpoints.at(-1)!.artifactId, full.checkpoints.at(-1)!.artifactId);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('PPO stops', () => {
  const base = { config: toy.config, tokenizer: toy.tokenizer, policy: toy.params, reference: toy.params, prompts: TOY_PROMPTS };
  const options: PpoOptions = { steps: 3, promptsPerStep: 4, maxTokens: 3, seed: 2, epochs: 1, miniBatches: 1, lr: 1e-2, intraOpThreads: 1 };

  it('KL above the hard ceiling ends the run early as a valid result', async () => {
    const r = await runPpo({ ...base, reward: denseReward, options: { ...options, klCeiling: 1e-9 } });
    // step 1 samples from the reference itself (KL 0); step 2 has moved
    assert.equal(r.stop.kind, 'kl_ceiling');
    assert.equal(r.steps, 1);
    assert.match((r.stop as { detail: string }).detail, /step 2/);
  });

  it('a non-finite reward fails the run naming the tensor', async () => {
    await assert.rejects(
      runPpo({ ...base, reward: async (_p, rs) => ({ scores: rs.map((_, i) => (i === 1 ? Number.NaN : 0)) }), options }),
      (e: unknown) => e instanceof NonFiniteError && e.tensor === 'rm_scores' && e.index === 1,
    );
  });

  it('NaN mid-run: the run fails naming the tensor and the last good checkpoint stays', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ppo-nan-'));
    try {
      let calls = 0;
      const reward: RewardFunction = async (p, rs) => (++calls === 3 ? { scores: rs.map(() => Number.NaN) } : denseReward(p, rs));
      await assert.rejects(runPpo({ ...base, reward, outDir: root, options: { ...options, checkpointEvery: 1, health: relaxed } }), (e: unknown) => e instanceof NonFiniteError && e.tensor === 'rm_scores');
      const last = await latestCheckpoint(root);
      assert.equal(last?.step, 2);
      assert.equal((await readArtifact(last!.dir)).manifest.notes.step, 2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a dead reward signal (zero variance) stops the run with that reason', async () => {
    const r = await runPpo({ ...base, reward: async (_p, rs) => ({ scores: rs.map(() => 0.5) }), options: { ...options, health: { limits: { zero_reward_variance: 2, all_truncated: 99, bad_grad_norm: 99, runaway_length: 99, entropy_collapse: 99 }, minScoreStd: 1e-6, maxLengthGrowth: 3, minEntropyFraction: 0 } } });
    assert.equal(r.stop.kind, 'unhealthy');
    assert.match((r.stop as { detail: string }).detail, /^zero_reward_variance at step 2/);
  });
});
