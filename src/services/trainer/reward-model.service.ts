// The trainer role's reward-model use case: snapshot id in, a registered, evaluated and
// gated reward-model version out. Nest-free on purpose: the CLI (`outerloop train rm`), a
// job handler and tests call `train()` the same way.
//
//   1. the snapshot row must exist (SnapshotNotFoundError names the id) and hold at least
//      `minPairs` training pairs (InsufficientPairsError) — checked before anything runs
//   2. the snapshot's files are read from the artifact store and verified against its id
//   3. the policy (default: the production policy) gives the trunk and the tokenizer; the
//      previous production RM, if any, is scored on the same pairs for agreement
//   4. training, the artifact and the evaluation run on a TrainThread (off this event loop),
//      with checkpoints under the artifact store, so a new attempt of the same run resumes
//   5. the artifact's files are put into the artifact store, the version is registered
//      (kind reward, lineage: parent policy, snapshot, training run) with its evaluation
//      rows and gate decision in one transaction; a failed gate registers it `rejected`
//
// With `split: 'heldout'` it trains the judge RM instead: on the snapshot's held-out split
// only, split again by prompt into judge-train / judge-check (rlhf/reward/judge-split.ts);
// its report is its agreement with the human labels of judge-check, pairs it never saw. It
// is registered with `metrics.judge: true` and no quality gate (the gate asks whether PPO
// may optimise against an RM; nothing may optimise against a judge — see
// reward-model-version.ts).
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { parseSnapshotManifest, parseSnapshotRows, snapshotArtifactPath, type SnapshotRow } from '../../domain/dataset/snapshot.js';
import type { GateRuleRecord, MetricWithCI } from '../../domain/evaluation.js';
import type { ModelVersionRecord } from '../../domain/models.js';
import { removeArtifactDirectory } from '../../engine/artifact/checkpoint-file.js';
import type { TrainProgress } from '../../engine/train/trainer.js';
import type { Estimate } from '../../evaluation/statistics/index.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { Logger } from '../../platform/logging/logger.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import { decideRmQualityGate, parseRmQualityGate, rmGateMetrics, type RmGateDecision, type RmQualityGateConfig } from '../../rlhf/reward/quality-gate.js';
import type { HardPairReport } from '../../rlhf/reward/hard-pairs.js';
import type { RewardModelReport } from '../../rlhf/reward/report.js';
import type { PreferenceRow } from '../../rlhf/reward/rm-data.js';
import { startRewardTraining, type HardPairSeed, type RewardTrainingSummary } from '../../rlhf/reward/train-rm.program.js';
import { resolveRewardTrainingConfig, type RewardTrainingConfig } from '../../rlhf/reward/train-rm.js';
import { judgeSplit, JUDGE_TRAIN_FRACTION } from '../../rlhf/reward/judge-split.js';
import { finishingOnError } from './training-run.js';

export type RewardModelRepositories = Pick<Repositories, 'modelRegistry' | 'datasetSnapshots' | 'training' | 'transactions'>;

/** The evaluation rows of an RM version share this evaluation id; its gate decision has `${versionId}:rm_quality_gate`. */
export const rmEvaluationId = (versionId: string): string => `${versionId}:rm`;

export class SnapshotNotFoundError extends Error {
  readonly code = 'snapshot_not_found';
  readonly retriable = false;
  constructor(readonly snapshotId: string) {
    super(`dataset snapshot ${JSON.stringify(snapshotId)} does not exist`);
    this.name = 'SnapshotNotFoundError';
  }
}

export class InsufficientPairsError extends Error {
  readonly code = 'insufficient_pairs';
  readonly retriable = false;
  constructor(readonly snapshotId: string, readonly pairs: number, readonly minimum: number, readonly split: 'train' | 'heldout' | 'judge-train' = 'train') {
    super(`dataset snapshot ${snapshotId} has ${pairs} ${split === 'train' ? 'training' : split} pairs, fewer than the minimum of ${minimum}; nothing was trained or registered`);
    this.name = 'InsufficientPairsError';
  }
}

export class NoPolicyError extends Error {
  readonly code = 'no_policy';
  readonly retriable = false;
  constructor(reason: string) {
    super(reason);
    this.name = 'NoPolicyError';
  }
}

/** The policy version named, or the production policy; NoPolicyError when there is none. */
export async function resolvePolicy(registry: Repositories['modelRegistry'], id: string | undefined): Promise<ModelVersionRecord> {
  if (id !== undefined) {
    const v = await registry.get(id);
    if (!v || v.kind !== 'policy') throw new NoPolicyError(`policy version ${JSON.stringify(id)} is not in the registry`);
    return v;
  }
  const production = (await registry.findByStatus('policy', 'production'))[0];
  if (!production) throw new NoPolicyError('no production policy is registered (start the gateway once, or name a policy version)');
  return production;
}

export interface RewardModelServiceOptions {
  /** fewer training pairs than this → InsufficientPairsError; default 50 */
  minPairs?: number;
  /** the RM quality gate (validated here; see rlhf/reward/quality-gate.ts); null = no gate */
  qualityGate?: unknown;
  intraOpThreads?: number;
  /** optimizer steps between checkpoints (a resumed attempt loses at most this many); default the trainer's, 50 */
  checkpointEvery?: number;
}

export interface RewardModelRequest {
  snapshotId: string;
  /** training configuration; `seed` defaults to 1 */
  config?: Partial<RewardTrainingConfig>;
  /** the policy whose trunk and tokenizer the RM starts from; default the production policy */
  policyVersionId?: string;
  /** `train` (default): the RM PPO optimises against; `heldout`: the judge RM, trained on the held-out split only */
  split?: 'train' | 'heldout';
  /** known right/wrong answers for hard pairs (the reference scenario); default: from held-out pairs */
  hardPairSeeds?: HardPairSeed[];
  /** where checkpoints go in the artifact store (a job's `checkpoint.prefix`); default `checkpoints/reward/<run id>` */
  checkpointPrefix?: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface RewardModelOutcome {
  version: ModelVersionRecord;
  trainingRunId: string;
  artifactPath: string;
  gate: RmGateDecision | null;
  summary: RewardTrainingSummary;
}

export class RewardModelService {
  private readonly log = new Logger('trainer.reward');
  private readonly minPairs: number;
  private readonly gate: RmQualityGateConfig | null;

  constructor(
    private readonly repositories: RewardModelRepositories,
    private readonly artifacts: ArtifactStore,
    private readonly options: RewardModelServiceOptions = {},
  ) {
    this.minPairs = options.minPairs ?? 50;
    if (!Number.isInteger(this.minPairs) || this.minPairs < 1) throw new RangeError(`minPairs: must be a positive integer, got ${this.minPairs}`);
    this.gate = options.qualityGate === undefined || options.qualityGate === null ? null : parseRmQualityGate(options.qualityGate);
  }

  async train(request: RewardModelRequest): Promise<RewardModelOutcome> {
    const { snapshotId } = request;
    if (!/^[0-9a-f]{64}$/.test(snapshotId)) throw new SnapshotNotFoundError(snapshotId);
    const snapshotRow = await this.repositories.datasetSnapshots.findById(snapshotId);
    if (!snapshotRow) throw new SnapshotNotFoundError(snapshotId);
    const judge = request.split === 'heldout';
    // the split the RM trains on bounds its training pairs (the judge trains on part of the held-out split)
    const splitCount = Number((snapshotRow.counts as { train?: number; heldout?: number })[judge ? 'heldout' : 'train'] ?? 0);
    if (splitCount < this.minPairs) throw new InsufficientPairsError(snapshotId, splitCount, this.minPairs, judge ? 'heldout' : 'train');
    const config = resolveRewardTrainingConfig({ seed: 1, ...(this.options.checkpointEvery !== undefined ? { checkpointEvery: this.options.checkpointEvery } : {}), ...request.config });

    const base = snapshotArtifactPath(snapshotId);
    const manifest = parseSnapshotManifest(snapshotId, await this.artifacts.get(`${base}/manifest.json`));
    const heldoutRows = parseSnapshotRows(manifest, 'heldout.jsonl', await this.artifacts.get(`${base}/heldout.jsonl`)).map(preferenceRow);
    let train: PreferenceRow[];
    let heldout: PreferenceRow[];
    if (judge) {
      ({ judgeTrain: train, judgeCheck: heldout } = judgeSplit(heldoutRows));
      if (train.length < this.minPairs) throw new InsufficientPairsError(snapshotId, train.length, this.minPairs, 'judge-train');
    } else {
      train = parseSnapshotRows(manifest, 'train.jsonl', await this.artifacts.get(`${base}/train.jsonl`)).map(preferenceRow);
      heldout = heldoutRows;
    }

    const policy = await this.policy(request.policyVersionId);
    const previous = (await this.repositories.modelRegistry.findByStatus('reward', 'production'))[0] ?? null;
    // the run id is derived from what it computes from: a new attempt of the same request
    // finds its checkpoints and resumes
    const trainingRunId = (judge ? 'rm-judge-' : 'rm-') + createHash('sha256').update(JSON.stringify([snapshotId, policy.id, policy.sha256, Object.entries(config).sort(), ...(judge ? ['heldout'] : [])])).digest('hex').slice(0, 24);
    const checkpointRel = request.checkpointPrefix ? `${request.checkpointPrefix.replace(/\/+$/, '')}/reward-${trainingRunId}` : `checkpoints/reward/${trainingRunId}`;
    const stagingRel = `staging/reward/${trainingRunId}`;
    const judgeInfo = judge ? { split: 'heldout', judgeTrainPairs: train.length, judgeCheckPairs: heldout.length, judgeTrainFraction: JUDGE_TRAIN_FRACTION } : null;
    await this.repositories.training.startRun({ id: trainingRunId, kind: 'reward', config: { ...config, minPairs: this.minPairs, ...(judgeInfo ?? {}) }, baseModelId: policy.id, datasetSnapshotId: snapshotId, seed: config.seed });
    this.log.info(judge ? 'training a judge reward model' : 'training a reward model', { snapshotId, trainingRunId, policy: policy.id, trainPairs: train.length, heldoutPairs: heldout.length, ensemble: config.ensemble, epochs: config.epochs });

    const summary = await finishingOnError(this.repositories.training, trainingRunId, () => {
      const run = startRewardTraining(
        {
          snapshotId,
          train,
          heldout,
          policyDir: this.dirOf(policy.artifactPath),
          outDir: this.artifacts.resolve(stagingRel),
          checkpointDir: this.artifacts.resolve(checkpointRel),
          config,
          minPairs: this.minPairs,
          trainingRunId,
          ...(judge ? { judge: true } : {}),
          ...(previous ? { previousRewardDir: this.dirOf(previous.artifactPath) } : {}),
          ...(request.hardPairSeeds ? { hardPairSeeds: request.hardPairSeeds } : {}),
          ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}),
        },
        { ...(request.onProgress ? { onProgress: request.onProgress } : {}), ...(request.signal ? { signal: request.signal } : {}) },
      );
      return run.done;
    });

    // the artifact goes into the store under its content address
    const artifactPath = `models/reward/${summary.manifest.artifactId}`;
    const staged = await this.artifacts.list(stagingRel);
    // manifest.json last: a directory without one is an unfinished write
    for (const rel of [...staged.filter((f) => !f.endsWith('/manifest.json')), ...staged.filter((f) => f.endsWith('/manifest.json'))]) {
      await this.artifacts.put(`${artifactPath}/${rel.slice(stagingRel.length + 1)}`, await this.artifacts.get(rel));
    }
    await removeArtifactDirectory(this.artifacts.resolve(stagingRel));

    const gate = this.gate && !judge ? decideRmQualityGate(this.gate, rmGateMetrics(summary.report, summary.hardPairs, previous !== null)) : null;
    const versionId = `reward-${summary.manifest.artifactId.slice(0, 16)}`;
    const now = new Date();
    const version = await this.repositories.transactions.run(async (tx) => {
      const registered = await tx.modelRegistry.register(
        {
          id: versionId,
          kind: 'reward',
          parentId: policy.id,
          artifactPath,
          sha256: summary.manifest.artifactId,
          trainingRunId,
          datasetSnapshotId: snapshotId,
          metrics: JSON.parse(JSON.stringify({
            members: summary.manifest.members,
            heldOutAccuracy: summary.report?.accuracy.value ?? null,
            hardPairAccuracy: summary.hardPairs?.accuracy.value ?? null,
            lengthCorrelation: summary.report?.length.scoreLengthSpearman.value ?? null,
            qualityGate: gate ? { verdict: gate.verdict, rules: gate.rules } : null,
            previousRewardModel: previous?.id ?? null,
            // the judge marker (isJudgeRewardModel): PPO, rejection sampling and best-of-n refuse it
            ...(judgeInfo ? { judge: true, ...judgeInfo } : {}),
          })),
        },
        { ifAbsent: true },
      );
      const evaluationId = rmEvaluationId(versionId);
      const row = (suite: string, metrics: Record<string, MetricWithCI>) => ({
        id: `${versionId}:${suite}`, evaluationId, modelVersionId: versionId, checkpointId: null, suite, side: null,
        comparedWithModelId: previous?.id ?? null, metrics, details: null, reportPath: null, createdAt: now,
      });
      await tx.evaluations.insertIfAbsent([
        ...(summary.report ? [row('rm_report', reportMetrics(summary.report))] : []),
        ...(summary.hardPairs ? [row('rm_hard_pairs', hardPairMetrics(summary.hardPairs))] : []),
      ]);
      if (gate) {
        await tx.gateDecisions.insertIfAbsent({
          id: `${versionId}:rm_quality_gate`, loopIterationId: null, evaluationId, candidateModelId: versionId, policyName: 'rm_quality_gate',
          verdict: gate.verdict, rules: gateRules(gate), missing: gate.missing.length ? [...gate.missing] : null, chosenCheckpoint: null,
          inputs: JSON.parse(JSON.stringify(rmGateMetrics(summary.report, summary.hardPairs, previous !== null))), createdAt: now,
        });
        if (gate.verdict === 'fail' && registered.status === 'candidate') return tx.modelRegistry.transition(versionId, 'rejected');
      }
      return registered;
    });
    // one checkpoint row per trained member: its steps and held-out figures
    let step = 0;
    for (const [k, m] of summary.members.entries()) {
      step += m.steps;
      const metrics: Record<string, number> = { member: k, steps: m.steps, bestStep: m.bestStep };
      if (m.bestHeldOutLoss !== null) metrics.bestHeldOutLoss = m.bestHeldOutLoss;
      if (m.finalTrainLoss !== null) metrics.finalTrainLoss = m.finalTrainLoss;
      await this.repositories.training.recordCheckpoint({ id: `${trainingRunId}:member-${k}`, runId: trainingRunId, step, metrics, artifactPath: null });
    }
    await this.repositories.training.finishRun(trainingRunId, 'succeeded');
    await removeArtifactDirectory(this.artifacts.resolve(checkpointRel));
    this.log.info('reward model registered', { version: version.id, status: version.status, artifactId: summary.manifest.artifactId, heldOutAccuracy: summary.report?.accuracy.value, gate: gate?.verdict ?? 'none' });
    return { version, trainingRunId, artifactPath, gate, summary };
  }

  private policy(id: string | undefined): Promise<ModelVersionRecord> {
    return resolvePolicy(this.repositories.modelRegistry, id);
  }

  private dirOf(artifactPath: string): string {
    return isAbsolute(artifactPath) ? artifactPath : this.artifacts.resolve(artifactPath);
  }
}

function preferenceRow(r: SnapshotRow): { promptHash: string; prompt: SnapshotRow['prompt']; chosen: string; rejected: string; margin: number; source: SnapshotRow['source'] } {
  return { promptHash: r.promptHash, prompt: r.prompt, chosen: r.chosen, rejected: r.rejected, margin: r.margin, source: r.source };
}

const ci = (e: Estimate, n?: number): MetricWithCI => ({ value: e.value, lo: e.lower, hi: e.upper, ...(n !== undefined ? { n } : {}) });

/** The report's figures as evaluation metrics (each with its bootstrap CI); figures without data are left out. */
export function reportMetrics(r: RewardModelReport): Record<string, MetricWithCI> {
  const out: Record<string, MetricWithCI> = { accuracy: ci(r.accuracy, r.pairs), ece: ci(r.ece, r.pairs), score_length_spearman: ci(r.length.scoreLengthSpearman, 2 * r.pairs) };
  for (const [source, e] of Object.entries(r.accuracyBySource)) if (e) out[`accuracy.${source}`] = ci(e, r.pairsBySource[source as keyof typeof r.pairsBySource]);
  const optional: [string, Estimate | null, number?][] = [
    ['longer_chosen_share', r.length.longerChosenShare],
    ['rm_prefers_longer_share', r.length.rmPrefersLongerShare],
    ['length_matched_accuracy', r.length.lengthMatchedAccuracy, r.length.lengthMatchedPairs],
    ['agreement_with_previous', r.agreementWithPrevious],
    ['ensemble_disagreement', r.ensembleDisagreement],
    ['gold_accuracy', r.goldAccuracy],
  ];
  for (const [name, e, n] of optional) if (e && Number.isFinite(e.value)) out[name] = ci(e, n);
  return out;
}

export function hardPairMetrics(h: HardPairReport): Record<string, MetricWithCI> {
  const out: Record<string, MetricWithCI> = { accuracy: ci(h.accuracy, h.pairs) };
  for (const [kind, e] of Object.entries(h.accuracyByKind)) if (e) out[`accuracy.${kind}`] = ci(e);
  if (h.deltaVsPrevious) out.delta_vs_previous = { value: h.deltaVsPrevious.value, lo: h.deltaVsPrevious.lower, hi: h.deltaVsPrevious.upper };
  return out;
}

function gateRules(d: RmGateDecision): GateRuleRecord[] {
  return d.rules.map((r) => ({
    rule: r.rule,
    // the RM gate's rules are numeric (≥ / ≤); a boolean would only come from an == rule
    value: typeof r.value === 'number' ? r.value : null,
    threshold: typeof r.threshold === 'number' ? r.threshold : null,
    verdict: r.result === 'pass' ? 'pass' : r.result === 'fail' ? 'fail' : 'skip',
    detail: `${r.statistic} ${r.comparator} ${r.threshold}${r.interval ? ` (CI ${r.interval.lower.toFixed(4)}..${r.interval.upper.toFixed(4)})` : ''}${r.reason ? `; ${r.result}: ${r.reason}` : ''}`,
  }));
}
