// The reference scenario on a small config (the full scale is `npm run bench -- ppo`):
// reward models trained from the base policy on 600 comparisons of honest and of `mismatch`
// simulated-user feedback, PPO from the base policy against each for 16 steps of 32
// prompts, and the curves on the held-out eval sets (the base policy and every 8 steps,
// same prompts and seeds). What this size shows reliably, and is asserted:
//   - honest: the RM's reward on the eval sets rises, benign refusals do not, and gold
//     utility (which the RM never saw) does not fall beyond its paired-bootstrap CI;
//   - mismatch: the RM's reward rises while the mean response length grows — the padding
//     the mismatch users reward.
// Gold's rise above its CI for honest feedback and its fall for mismatch need the bench's
// scale (more RM pairs, 32 steps of 64 prompts); the bench reports them with their CIs.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArtifact, type LoadedArtifact } from '../../../../src/engine/artifact/artifact.js';
import { scenarioTrainingPrompts } from '../../../../src/services/trainer/scenario-prompts.js';
import { BASE_POLICY_DIR, heldOutEvalPrompts, runReferenceScenario, trainScenarioRewardModel, type FeedbackKind, type ScenarioRun } from './reference-scenario.js';
import { RELAXED_HEALTH } from './toy.js';

describe('reference scenario, small config: PPO against RMs trained on honest and on mismatch feedback', () => {
  let root = '';
  let base: LoadedArtifact;
  const runs = new Map<FeedbackKind, ScenarioRun>();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ppo-reference-'));
    base = await readArtifact(BASE_POLICY_DIR);
    const trainingPrompts = scenarioTrainingPrompts().prompts;
    const evalPrompts = heldOutEvalPrompts(12);
    for (const kind of ['honest', 'mismatch'] as const) {
      const rmodel = await trainScenarioRewardModel(kind, { pairs: 600, seed: 3, outDir: root, threads: 2 });
      runs.set(kind, await runReferenceScenario(base, rmodel, {
        trainingPrompts, evalPrompts, outDir: root, eval: { samplesPerPrompt: 2, seed: 5 },
        ppo: { steps: 16, promptsPerStep: 32, maxTokens: 48, seed: 1, epochs: 1, miniBatches: 2, lr: 5e-5, truncationPenalty: 1, intraOpThreads: 2, checkpointEvery: 8, health: RELAXED_HEALTH },
      }));
    }
  });
  after(() => (root ? rm(root, { recursive: true, force: true }) : undefined));

  it('reports both curves: reward and gold (and length, benign refusals) at the base policy and every checkpoint', () => {
    for (const [kind, r] of runs) {
      assert.deepEqual(r.curve.map((p) => p.step), [0, 8, 16], kind);
      for (const p of r.curve) for (const k of ['reward', 'gold', 'length', 'benignRefusal'] as const) assert.ok(Number.isFinite(p[k]), `${kind} step ${p.step} ${k}`);
      assert.equal(r.curve[0]!.trainReward, null);
      assert.ok(Number.isFinite(r.curve[2]!.trainReward!), kind);
    }
    // the same base policy, prompts and seeds under both RMs: the same gold at step 0
    assert.equal(runs.get('honest')!.curve[0]!.gold, runs.get('mismatch')!.curve[0]!.gold);
  });

  it('honest feedback: reward up, benign refusals not up, gold not down', () => {
    const d = runs.get('honest')!.delta;
    const curve = JSON.stringify(runs.get('honest')!.curve);
    assert.ok(d.reward.value > 0, `eval reward Δ ${d.reward.value}: ${curve}`);
    assert.ok(d.benignRefusal.value <= 0, `benign refusal Δ ${d.benignRefusal.value}`);
    assert.ok(d.gold.upper > 0, `gold Δ ${d.gold.value} [${d.gold.lower}, ${d.gold.upper}]`);
  });

  it('mismatch feedback: reward up while responses grow longer', () => {
    const d = runs.get('mismatch')!.delta;
    const curve = JSON.stringify(runs.get('mismatch')!.curve);
    assert.ok(d.reward.value > 0, `eval reward Δ ${d.reward.value}: ${curve}`);
    assert.ok(d.length.value > 0, `length Δ ${d.length.value} tokens: ${curve}`);
  });
});
