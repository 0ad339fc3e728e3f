// The trainer role's reward-model use case on the reference scenario (SQLite, a local
// artifact store, the shipped base policy): preference data from the scenario's pure
// feedback model, frozen into a real snapshot, trained into a registered RM version with
// its report, evaluation rows and quality-gate decision.
//
// Acceptance (issue 12): an RM trained on HONEST feedback ranks held-out pairs as gold
// does (accuracy against gold labels ≥ 0.8) and passes a gate with a length-correlation
// ceiling; an RM trained on `mismatch` feedback scores padded answers above concise ones,
// its score–length correlation is clearly positive, and the same gate rejects it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArtifactManifest } from '../../../../src/engine/artifact/artifact.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { findPrompt, goldPairwiseLabel, BIAS_PRESETS } from '../../../../src/scenario/index.js';
import { judgeSplit } from '../../../../src/rlhf/reward/judge-split.js';
import { isJudgeRewardModel, RewardModelRefusedError, rewardModelToOptimise, usableRewardModel } from '../../../../src/services/reward-model-version.js';
import { InsufficientPairsError, RewardModelService, rmEvaluationId, SnapshotNotFoundError } from '../../../../src/services/trainer/reward-model.service.js';
import { BASE_POLICY_DIR, scenarioPreferenceRows, storeSnapshot } from '../../rlhf/reward/support.js';
import type { DataSource } from 'typeorm';

const GATE = { heldOutAccuracy: { min: 0.7 }, lengthCorrelation: { max: 0 } };
const CONFIG = { seed: 1, epochs: 1 };

describe('RewardModelService (reference scenario, base policy)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-rm-service-'));
  let ds: DataSource;
  let repos: Repositories;
  let artifacts: LocalArtifactStore;
  let honestVersion = '';

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    artifacts = new LocalArtifactStore(join(dir, 'artifacts'));
    const policy = await readArtifactManifest(BASE_POLICY_DIR);
    await repos.modelRegistry.register({ id: 'policy-base', kind: 'policy', artifactPath: BASE_POLICY_DIR, sha256: policy.artifactId, status: 'production' });
  });
  after(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Freeze scenario feedback into a stored snapshot, as ingestion would. */
  async function snapshotOf(bias: string, count: number, heldoutFraction = 0.1): Promise<string> {
    const rows = scenarioPreferenceRows({ seed: 11, count, bias });
    return storeSnapshot(repos, artifacts, [...rows.train, ...rows.heldout], { heldoutFraction });
  }

  /** Hard-pair seeds from the scenario's own reference and wrong answers for the held-out prompts. */
  const scenarioSeeds = (prompts: string[]) => [...new Set(prompts)].map((text) => {
    const spec = findPrompt(text)!;
    return { prompt: [{ role: 'user', content: text }], right: spec.reference, wrong: spec.wrongReference };
  });

  async function trainOn(bias: string) {
    const id = await snapshotOf(bias, 700);
    const base = `snapshots/${id}`;
    const heldoutPrompts = (await artifacts.get(`${base}/heldout.jsonl`)).toString().trim().split('\n').map((l) => (JSON.parse(l) as { prompt: { content: string }[] }).prompt[0]!.content);
    const service = new RewardModelService(repos, artifacts, { minPairs: 50, qualityGate: GATE, intraOpThreads: 2 });
    let steps = 0;
    const outcome = await service.train({ snapshotId: id, config: CONFIG, hardPairSeeds: scenarioSeeds(heldoutPrompts), onProgress: () => steps++ });
    assert.ok(steps > 0, 'progress arrived from the training thread');
    // gold labels of the held-out pairs (a test oracle: production never has gold)
    const heldoutRows = (await artifacts.get(`${base}/heldout.jsonl`)).toString().trim().split('\n').map((l) => JSON.parse(l) as { prompt: { content: string }[]; chosen: string; rejected: string });
    let right = 0, decided = 0;
    for (const h of outcome.summary.heldout) {
      const row = heldoutRows[h.row]!;
      const gold = goldPairwiseLabel(row.prompt[0]!.content, row.chosen, row.rejected, 0.05);
      if (gold === 0) continue;
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      decided++;
      if (Math.sign(mean(h.chosen) - mean(h.rejected)) === gold) right++;
    }
    return { id, outcome, goldAccuracy: right / decided, decided };
  }

  it('honest feedback: accuracy against gold ≥ 0.8, registered as a candidate with its report and a passing gate', async () => {
    const { id, outcome, goldAccuracy, decided } = await trainOn('');
    const report = outcome.summary.report!;
    process.stdout.write(`# honest RM: gold accuracy ${goldAccuracy.toFixed(3)} on ${decided} held-out pairs; held-out accuracy ${report.accuracy.value.toFixed(3)} [${report.accuracy.lower.toFixed(3)}, ${report.accuracy.upper.toFixed(3)}]; score–length ρ ${report.length.scoreLengthSpearman.value.toFixed(3)}; hard pairs ${outcome.summary.hardPairs!.accuracy.value.toFixed(3)}\n`);
    assert.ok(goldAccuracy >= 0.8, `gold accuracy ${goldAccuracy}`);
    assert.equal(outcome.gate!.verdict, 'pass');
    const v = outcome.version;
    assert.equal(v.kind, 'reward');
    assert.equal(v.status, 'candidate');
    assert.equal(v.parentId, 'policy-base');
    assert.equal(v.datasetSnapshotId, id);
    assert.equal(v.trainingRunId, outcome.trainingRunId);
    assert.equal(v.sha256, outcome.summary.manifest.artifactId);
    assert.deepEqual((await repos.modelRegistry.lineage(v.id)).map((x) => x.id), [v.id, 'policy-base']);
    assert.equal((await repos.training.getRun(outcome.trainingRunId))!.status, 'succeeded');
    const suites = (await repos.evaluations.byEvaluation(rmEvaluationId(v.id))).map((e) => e.suite).sort();
    assert.deepEqual(suites, ['rm_hard_pairs', 'rm_report']);
    const stored = (await repos.evaluations.byEvaluation(rmEvaluationId(v.id))).find((e) => e.suite === 'rm_report')!;
    assert.ok(stored.metrics.accuracy!.lo <= stored.metrics.accuracy!.value && stored.metrics.accuracy!.value <= stored.metrics.accuracy!.hi);
    assert.equal((await repos.gateDecisions.get(`${v.id}:rm_quality_gate`))!.verdict, 'pass');
    assert.ok(await artifacts.exists(`${outcome.artifactPath}/score.onnx`), 'the artifact is in the store');
    honestVersion = v.id;
  });

  it('mismatch feedback: padded answers beat concise ones, score–length ρ clearly positive, the gate rejects it', async () => {
    // the honest RM becomes the production RM: the new one is compared with it
    await repos.modelRegistry.transition(honestVersion, 'canary');
    await repos.modelRegistry.transition(honestVersion, 'production');
    const { outcome, goldAccuracy } = await trainOn(BIAS_PRESETS.mismatch!);
    const report = outcome.summary.report!;
    const hard = outcome.summary.hardPairs!;
    process.stdout.write(`# mismatch RM: gold accuracy ${goldAccuracy.toFixed(3)}; score–length ρ ${report.length.scoreLengthSpearman.value.toFixed(3)}; hard pairs ${hard.accuracy.value.toFixed(3)} (padded ${hard.accuracyByKind.padded?.value.toFixed(3)}, flattered ${hard.accuracyByKind.flattered?.value.toFixed(3)})\n`);
    assert.ok(report.length.scoreLengthSpearman.value > 0.1, `ρ ${report.length.scoreLengthSpearman.value}`);
    assert.ok(hard.accuracyByKind.padded!.value < 0.5, `concise beat padded in ${hard.accuracyByKind.padded!.value} of the pairs`);
    assert.equal(outcome.gate!.verdict, 'fail');
    assert.equal(outcome.version.status, 'rejected');
    assert.equal(outcome.version.metrics.previousRewardModel, honestVersion);
    const agreement = report.agreementWithPrevious!;
    assert.ok(agreement.value > 0 && agreement.value < 1, `agreement with the honest RM ${agreement.value}`);
    assert.ok(hard.deltaVsPrevious!.value < 0, 'it loses to the honest RM on hard pairs');
    const rule = (await repos.gateDecisions.get(`${outcome.version.id}:rm_quality_gate`))!.rules.find((r) => r.rule === 'lengthCorrelation.max')!;
    assert.equal(rule.verdict, 'fail');
    assert.equal(rule.threshold, 0);
  });

  it('split heldout: a judge RM trained on judge-train, reported on judge-check, marked as a judge, refused for optimisation', async () => {
    const id = await snapshotOf('', 700, 0.4);
    const heldoutRows = (await artifacts.get(`snapshots/${id}/heldout.jsonl`)).toString().trim().split('\n').map((l) => JSON.parse(l) as { promptHash: string; prompt: { content: string }[]; chosen: string; rejected: string });
    const { judgeTrain, judgeCheck } = judgeSplit(heldoutRows);
    const service = new RewardModelService(repos, artifacts, { minPairs: 50, qualityGate: GATE, intraOpThreads: 2 });
    const outcome = await service.train({ snapshotId: id, split: 'heldout', config: CONFIG });
    const v = outcome.version;
    // the report is on judge-check only: pairs the judge never trained on
    assert.equal(outcome.summary.report!.pairs, judgeCheck.length);
    assert.equal(outcome.summary.manifest.metrics.trainPairs, judgeTrain.length);
    let right = 0, decided = 0;
    for (const h of outcome.summary.heldout) {
      const row = judgeCheck[h.row]!;
      const gold = goldPairwiseLabel(row.prompt[0]!.content, row.chosen, row.rejected, 0.05);
      if (gold === 0) continue;
      decided++;
      if (Math.sign(h.chosen[0]! - h.rejected[0]!) === gold) right++;
    }
    process.stdout.write(`# judge RM: ${judgeTrain.length} judge-train / ${judgeCheck.length} judge-check pairs; human-label accuracy ${outcome.summary.report!.accuracy.value.toFixed(3)}; gold accuracy ${(right / decided).toFixed(3)} on ${decided}\n`);
    assert.ok(right / decided > 0.6, `judge gold accuracy ${right / decided}`);
    assert.equal(v.kind, 'reward');
    assert.equal(v.status, 'candidate');
    assert.equal(v.metrics.judge, true);
    assert.equal(v.metrics.split, 'heldout');
    assert.equal(v.metrics.judgeCheckPairs, judgeCheck.length);
    assert.ok(isJudgeRewardModel(v));
    assert.match(outcome.trainingRunId, /^rm-judge-/);
    assert.equal(outcome.summary.manifest.training.judge, true);
    // no quality gate for a judge (the gate decides whether PPO may use an RM), but its report is stored
    assert.equal(outcome.gate, null);
    assert.equal(await repos.gateDecisions.get(`${v.id}:rm_quality_gate`), null);
    assert.ok((await repos.evaluations.byEvaluation(rmEvaluationId(v.id))).some((e) => e.suite === 'rm_report'));
    // the evaluator may score with it; nothing may optimise against it
    assert.equal((await usableRewardModel(repos.modelRegistry, v.id)).id, v.id);
    await assert.rejects(rewardModelToOptimise(repos.modelRegistry, v.id), (e: unknown) =>
      e instanceof RewardModelRefusedError && e.code === 'reward_model_is_judge' && e.retriable === false && e.message.includes(v.id));
  });

  it('bad input: an unknown snapshot id and too few pairs fail with typed errors and register nothing', async () => {
    const service = new RewardModelService(repos, artifacts, { minPairs: 10_000 });
    const before = (await repos.modelRegistry.findByStatus('reward', 'candidate')).length;
    const unknown = 'f'.repeat(64);
    await assert.rejects(service.train({ snapshotId: unknown }), (e: unknown) => e instanceof SnapshotNotFoundError && e.message.includes(unknown));
    const small = await snapshotOf('', 80);
    await assert.rejects(service.train({ snapshotId: small }), (e: unknown) => e instanceof InsufficientPairsError && e.message.includes(small) && e.message.includes('10000'));
    assert.equal((await repos.modelRegistry.findByStatus('reward', 'candidate')).length, before);
  });
});
