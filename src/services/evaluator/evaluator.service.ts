// The evaluator's use case with its I/O: load the candidate and the incumbent from the
// model registry, evaluate them on every configured suite (candidate-evaluation.ts),
// decide with the configured gate policy and the naive one side by side, store the
// report and its charts through the ArtifactStore, and record the evaluation rows and
// the gate decisions in one transaction.
//
// Ids are derived from the inputs (candidate, incumbent, suites, sampling, policies),
// so evaluating the same artifacts with the same seeds again writes nothing new: the
// numbers are the same and the rows already exist.
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import type { EvaluationRecord, GateDecisionRecordRow, MetricWithCI } from '../../domain/evaluation.js';
import { ModelVersionNotFoundError } from '../../domain/models.js';
import { readArtifact } from '../../engine/artifact/artifact.js';
import {
  type CheckpointEvaluation, type Estimate, type GateDecisionRecord, type GatePolicy, type ResolvedSuite, EvaluationInputError, NAIVE_GATE_POLICY,
  REFERENCE_GATE_POLICY, dryRunGatePolicy, gateMetricCatalog, parseGatePolicy,
} from '../../evaluation/index.js';
import type { RewardScorer } from '../../evaluation/sampling/index.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import type { IEvaluationRepository, IGateDecisionRepository, IModelRegistryRepository, ITransactionRunner } from '../../platform/persistence/repositories/index.js';
import { scenarioSuites } from '../../scenario/eval-suites.js';
import { type CandidateEvaluation, type CandidateEvaluationOptions, type LoadedPolicy, evaluateCandidate } from './candidate-evaluation.js';
import type { EvaluatorMetrics } from './evaluator-metrics.js';
import { buildEvaluationReport } from './report.js';

export const DEFAULT_EVAL_SAMPLING = { seeds: [1, 2], maxTokens: 64, temperature: 1 } as const;

export interface EvaluateRequest {
  /** model version id of the candidate */
  candidate: string;
  /** model version id of the incumbent; default the production policy */
  incumbent?: string;
  /** suite names to run (default every configured suite) */
  suites?: readonly string[];
  seeds?: readonly number[];
  maxTokens?: number;
  temperature?: number;
  /** the gate policy (default the configured one) */
  policy?: GatePolicy;
  run?: { id?: string; checkpoints: readonly CheckpointEvaluation[]; candidateStep: number };
  /** the reward model to read the proxy reward from (default the configured one) */
  rewardScorer?: RewardScorer;
}

export interface EvaluateResult {
  evaluationId: string;
  /** artifact-store path of report.md; the charts are next to it under charts/ */
  reportPath: string;
  charts: string[];
  decisions: GateDecisionRecordRow[];
  evaluation: CandidateEvaluation;
}

export interface EvaluatorDependencies {
  modelRegistry: IModelRegistryRepository;
  evaluations: IEvaluationRepository;
  gateDecisions: IGateDecisionRepository;
  transactions: ITransactionRunner;
  artifacts: ArtifactStore;
  /** told of every stored evaluation (the role's Prometheus metrics) */
  metrics?: EvaluatorMetrics;
}

export interface EvaluatorSettings {
  /** the suites to run; default the reference scenario's */
  suites?: readonly ResolvedSuite[];
  /** the configured gate; default REFERENCE_GATE_POLICY */
  policy?: GatePolicy;
  rewardScorer?: RewardScorer;
  judge?: RewardScorer;
  bootstrap?: { seed: number; resamples?: number };
  intraOpThreads?: number;
  maxBatch?: number;
}

/** An evaluation id that names its report; the same inputs give the same id. */
function evaluationIdOf(parts: unknown): string {
  return `eval-${createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24)}`;
}

const toCi = (e: Estimate): MetricWithCI => ({ value: e.value, lo: e.lower, hi: e.upper, level: e.level, se: e.se });

/** JSON has no NaN or ±∞: they are stored as null, which the rule engine reads as missing (never a silent pass). */
const jsonSafe = <T>(x: T): T => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as T;

export class EvaluatorService {
  private readonly suites: readonly ResolvedSuite[];
  private readonly policy: GatePolicy;
  private readonly naive: GatePolicy;

  constructor(private readonly deps: EvaluatorDependencies, private readonly settings: EvaluatorSettings = {}) {
    this.suites = settings.suites ?? scenarioSuites();
    const catalog = evaluatorMetricCatalog(this.suites);
    this.policy = settings.policy ?? parseGatePolicy(REFERENCE_GATE_POLICY, catalog, 'REFERENCE_GATE_POLICY');
    this.naive = parseGatePolicy(NAIVE_GATE_POLICY, catalog, 'NAIVE_GATE_POLICY');
    deps.metrics?.expectPolicies([this.policy.name, this.naive.name]);
  }

  /** The metric catalog of the configured suites: what a gate policy file may name. */
  get catalog() {
    return evaluatorMetricCatalog(this.suites);
  }

  private async loadPolicy(id: string, role: string): Promise<LoadedPolicy> {
    const version = await this.deps.modelRegistry.get(id);
    if (!version) throw new ModelVersionNotFoundError(id, role);
    if (version.kind !== 'policy') throw new EvaluationInputError(role, `model version ${id} is a ${version.kind} model, not a policy`);
    const dir = isAbsolute(version.artifactPath) ? version.artifactPath : this.deps.artifacts.resolve(version.artifactPath);
    const artifact = await readArtifact(dir);
    return { id, params: artifact.params, tokenizer: artifact.tokenizer };
  }

  private async productionPolicy(): Promise<string> {
    const [production] = await this.deps.modelRegistry.findByStatus('policy', 'production');
    if (!production) throw new EvaluationInputError('incumbent', 'no production policy is registered; name the incumbent');
    return production.id;
  }

  private suitesNamed(names: readonly string[] | undefined): ResolvedSuite[] {
    if (!names || names.length === 0) return [...this.suites];
    return names.map((n, i) => {
      const s = this.suites.find((x) => x.name === n);
      if (!s) throw new EvaluationInputError(`suites[${i}]`, `unknown suite "${n}" (configured: ${this.suites.map((x) => x.name).join(', ')})`);
      return s;
    });
  }

  async evaluate(req: EvaluateRequest): Promise<EvaluateResult> {
    const incumbentId = req.incumbent ?? (await this.productionPolicy());
    if (incumbentId === req.candidate) throw new EvaluationInputError('incumbent', `the candidate ${req.candidate} is the incumbent; nothing to compare`);
    const suites = this.suitesNamed(req.suites);
    const policy = req.policy ?? this.policy;
    const policies = policy.name === this.naive.name ? [policy] : [policy, this.naive];
    const sampling = { seeds: [...(req.seeds ?? DEFAULT_EVAL_SAMPLING.seeds)], maxTokens: req.maxTokens ?? DEFAULT_EVAL_SAMPLING.maxTokens, temperature: req.temperature ?? DEFAULT_EVAL_SAMPLING.temperature };
    const bootstrap = this.settings.bootstrap ?? { seed: 1, resamples: 1000 };
    const options: CandidateEvaluationOptions = { sampling, bootstrap, intraOpThreads: this.settings.intraOpThreads, maxBatch: this.settings.maxBatch };
    const [candidate, incumbent] = [await this.loadPolicy(req.candidate, 'candidate'), await this.loadPolicy(incumbentId, 'incumbent')];
    const evaluation = await evaluateCandidate({
      candidate, incumbent, suites, policies, options,
      rewardScorer: req.rewardScorer ?? this.settings.rewardScorer, judge: this.settings.judge,
      run: req.run ? { checkpoints: req.run.checkpoints, candidateStep: req.run.candidateStep } : undefined,
    });
    const evaluationId = evaluationIdOf({
      candidate: req.candidate, incumbent: incumbentId, suites: suites.map((s) => [s.name, s.promptSet.sha256]), sampling, bootstrap,
      policies: policies.map((p) => p), rewardScorer: (req.rewardScorer ?? this.settings.rewardScorer)?.id ?? null, judge: this.settings.judge?.id ?? null, run: req.run ?? null,
    });

    const report = await buildEvaluationReport(evaluation, { evaluationId, sampling, bootstrap, run: req.run });
    const base = `evaluations/${evaluationId}`;
    const reportPath = `${base}/report.md`;
    for (const [name, svg] of Object.entries(report.charts)) await this.deps.artifacts.put(`${base}/charts/${name}.svg`, svg);
    await this.deps.artifacts.put(reportPath, report.markdown);

    const now = new Date();
    const rows: EvaluationRecord[] = evaluation.comparisons.flatMap((c) => (['candidate', 'incumbent'] as const).map((side): EvaluationRecord => {
      const metrics: Record<string, MetricWithCI> = {};
      for (const [k, e] of Object.entries(c[side].metrics)) metrics[k] = toCi(e);
      if (side === 'candidate') for (const [k, e] of Object.entries(c.deltas)) metrics[k] = toCi(e);
      return {
        id: `${evaluationId}:${c[side].suite}:${side}`, evaluationId, modelVersionId: side === 'candidate' ? req.candidate : incumbentId, checkpointId: null,
        suite: c[side].suite, side, comparedWithModelId: side === 'candidate' ? incumbentId : req.candidate,
        metrics: jsonSafe(metrics),
        details: jsonSafe({ labels: c[side].labels, prompts: c[side].prompts, samples: c[side].samples, promptSet: c[side].promptSet, sampling, bootstrap, timings: evaluation.timings }),
        reportPath, createdAt: now,
      };
    }));
    const decisions = evaluation.decisions.map((d) => this.decisionRow(evaluationId, d, now));
    await this.deps.transactions.run(async (tx) => {
      await tx.evaluations.insertIfAbsent(rows);
      for (const d of decisions) await tx.gateDecisions.insertIfAbsent(d);
    });
    this.deps.metrics?.evaluated(evaluation, decisions, now);
    return { evaluationId, reportPath, charts: Object.keys(report.charts), decisions, evaluation };
  }

  private decisionRow(evaluationId: string, d: GateDecisionRecord, createdAt: Date): GateDecisionRecordRow {
    return {
      id: `${evaluationId}:${d.policy}`, loopIterationId: null, evaluationId, candidateModelId: d.candidate, policyName: d.policy, verdict: d.verdict,
      rules: jsonSafe(d.rules.map((r) => ({
        rule: r.rule, metric: r.metric, statistic: r.statistic, comparator: r.comparator, value: r.value, threshold: r.threshold, interval: r.interval,
        verdict: r.result, ...(r.reason ? { detail: r.reason } : {}),
      }))),
      missing: d.missing, chosenCheckpoint: d.chosenCheckpoint ? jsonSafe({ ...d.chosenCheckpoint }) : null, inputs: jsonSafe({ ...d.inputs }), createdAt,
    };
  }
}

/** The gate metric catalog of resolved suites (their scorer names are all the catalog needs). */
export function evaluatorMetricCatalog(suites: readonly ResolvedSuite[]) {
  return gateMetricCatalog(suites.map((s) => ({ name: s.name, scorers: s.scorers.map((x) => ({ name: x.name, type: x.type, options: {} })) })));
}

/** Replays a policy over stored decisions (their inputs): which verdicts would flip. */
export function replayGatePolicy(policy: GatePolicy, stored: readonly GateDecisionRecordRow[]) {
  const past = stored.map((d, i) => {
    if (!d.inputs) throw new EvaluationInputError(`decisions[${i}]`, `gate decision ${d.id} was stored without its inputs (written before they were recorded); it cannot be replayed`);
    return { candidate: d.candidateModelId, verdict: d.verdict, inputs: d.inputs, chosenCheckpoint: null };
  });
  return dryRunGatePolicy(policy, past);
}
