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
import { readArtifact, readArtifactManifest } from '../../engine/artifact/artifact.js';
import {
  type CheckpointEvaluation, type EvalChoice, type Estimate, type GateDecisionRecord, type GatePolicy, type NotApplicable, type ResolvedSuite, type RuleDecision,
  EvaluationInputError, NAIVE_GATE_POLICY, REFERENCE_GATE_POLICY, chooseTrainedCheckpoint, dryRunGatePolicy, gateMetricCatalog, parseGatePolicy,
} from '../../evaluation/index.js';
import type { RewardScorer } from '../../evaluation/sampling/index.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import type {
  IEvaluationRepository, IGateDecisionRepository, IModelRegistryRepository, ITrainingRepository, ITransactionRunner,
} from '../../platform/persistence/repositories/index.js';
import { scenarioSuites } from '../../scenario/eval-suites.js';
import { type CandidateEvaluation, type CandidateEvaluationOptions, type LoadedPolicy, evaluateCandidate } from './candidate-evaluation.js';
import type { EvaluatorMetrics } from './evaluator-metrics.js';
import { isJudgeRewardModel } from '../reward-model-version.js';
import { buildEvaluationReport } from './report.js';
import { type EvaluatedCheckpoint, type RunCheckpoint, checkpointStepsToEvaluate, evaluateCheckpoints } from './run-evaluation.js';

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
  /** the run the candidate came from; `reference` = the policy the run started from (KL reference; default the incumbent) */
  run?: { id?: string; checkpoints: readonly CheckpointEvaluation[]; candidateStep: number; reference?: { id: string } };
  /** the reward model to read the proxy reward from (default the configured one) */
  rewardScorer?: RewardScorer;
  /** the judge RM for the win rate (default the configured one) */
  judge?: RewardScorer;
  /** the RM quality gate's decision on the RM the candidate was trained against */
  rmQualityGate?: RuleDecision | NotApplicable;
  /** include the cumulative KL budget from the candidate's lineage (default: when the candidate is registered with a parent) */
  klBudget?: boolean;
}

export interface EvaluateRunRequest extends Pick<EvaluateRequest, 'incumbent' | 'suites' | 'seeds' | 'maxTokens' | 'temperature' | 'policy' | 'judge'> {
  /** the PPO training run */
  runId: string;
  /** the run's reward model as a scorer (default: the configured one); the run's RM version is read from the run */
  rewardScorer?: RewardScorer;
  /** resolves the run's RM version to a scorer when no `rewardScorer` is given (the job's REWARD_SCORER_PROVIDER) */
  rewardScorerFor?: (rewardModelVersion: string) => Promise<RewardScorer>;
  /** the RM the caller believes the run optimised: refused when the run says otherwise */
  rewardModelVersion?: string;
  /** the candidate the caller names (e.g. the run's last registered version): refused unless it came from this run */
  candidate?: string;
  /** evaluate every k-th checkpoint (and always the last); default the configured value, else 1 */
  every?: number;
  onCheckpoint?: (done: number, total: number, evaluation: CheckpointEvaluation) => void;
  signal?: AbortSignal;
}

export interface EvaluateRunResult extends EvaluateResult {
  runId: string;
  rewardModelVersion: string;
  checkpoints: EvaluatedCheckpoint[];
  choice: EvalChoice;
  /** the registered policy version of the checkpoint chosen by eval (what the loop deploys) */
  chosenCandidate: string;
}

/** A run that is not a finished PPO run with checkpoints on file. */
export class RunNotEvaluableError extends Error {
  readonly retriable = false;
  readonly code = 'run_not_evaluable';
  constructor(readonly runId: string, reason: string) {
    super(`runId: training run ${runId} cannot be evaluated: ${reason}`);
    this.name = 'RunNotEvaluableError';
  }
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
  /** training runs and their checkpoints: needed by evaluateRun */
  training?: ITrainingRepository;
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
  /** evaluate every k-th checkpoint of a run (and always the last); default 1 */
  checkpointEvery?: number;
  /**
   * The cumulative KL budget from the original base policy (nats per response, summed
   * over promotions; kl-budget.ts). Unset = accounted but not enforced: the kl-budget
   * rule then reads not_applicable, with that reason.
   */
  klBudget?: number;
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
    const artifact = await readArtifact(this.dirOf(version.artifactPath));
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
    const options = this.optionsFor(req);
    const { sampling, bootstrap } = options;
    const [candidate, incumbent] = [await this.loadPolicy(req.candidate, 'candidate'), await this.loadPolicy(incumbentId, 'incumbent')];
    const judge = req.judge ?? this.settings.judge;
    const reference = req.run?.reference;
    const budget = req.klBudget === false ? undefined : await this.klBudgetInputs(req.candidate, reference?.id ?? incumbentId);
    const evaluation = await evaluateCandidate({
      candidate, incumbent, suites, policies, options, judge,
      ...(reference ? { reference: reference.id === incumbentId ? incumbent : await this.loadPolicy(reference.id, 'run reference') } : {}),
      rewardScorer: req.rewardScorer ?? this.settings.rewardScorer,
      run: req.run ? { checkpoints: req.run.checkpoints, candidateStep: req.run.candidateStep } : undefined,
      ...(req.rmQualityGate ? { rmQualityGate: req.rmQualityGate } : {}),
      ...(budget ? { klBudget: { promotedKl: budget.promotedKl, budget: budget.budget, ...(budget.baseId === (reference?.id ?? incumbentId) ? {} : { base: await this.loadPolicy(budget.baseId, 'base policy') }) } } : {}),
    });
    const evaluationId = evaluationIdOf({
      candidate: req.candidate, incumbent: incumbentId, suites: suites.map((s) => [s.name, s.promptSet.sha256]), sampling, bootstrap,
      policies: policies.map((p) => p), rewardScorer: (req.rewardScorer ?? this.settings.rewardScorer)?.id ?? null, judge: judge?.id ?? null,
      run: req.run ? { id: req.run.id ?? null, checkpoints: req.run.checkpoints, candidateStep: req.run.candidateStep } : null,
      rmQualityGate: req.rmQualityGate ?? null, klBudget: budget ? { ...budget } : null,
    });

    const report = await buildEvaluationReport(evaluation, { evaluationId, sampling, bootstrap, run: req.run ? { id: req.run.id, checkpoints: req.run.checkpoints, candidateStep: req.run.candidateStep } : undefined });
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

  /**
   * Run evaluation: every k-th checkpoint of a PPO run (and the last) on the suites, the
   * checkpoint to ship chosen by eval (1-SE rule, never by reward), registered as a policy
   * version the loop can deploy, then compared with the incumbent on the full evidence —
   * the run's curve, the judge RM, the RM quality gate of the RM the run optimised and
   * the cumulative KL budget.
   */
  async evaluateRun(req: EvaluateRunRequest): Promise<EvaluateRunResult> {
    const training = this.deps.training;
    if (!training) throw new EvaluationInputError('runId', 'this evaluator has no training repository (EvaluatorDependencies.training); it cannot read a run');
    const run = await training.getRun(req.runId);
    if (!run) throw new RunNotEvaluableError(req.runId, 'no such training run');
    if (run.kind !== 'ppo') throw new RunNotEvaluableError(req.runId, `it is a ${run.kind} run; run evaluation reads a PPO run's checkpoints`);
    if (!run.baseModelId) throw new RunNotEvaluableError(req.runId, 'the run records no base policy (its KL reference)');
    const rewardModelVersion = run.config.rewardModelVersion;
    if (typeof rewardModelVersion !== 'string') throw new RunNotEvaluableError(req.runId, 'the run records no rewardModelVersion in its config');
    if (req.rewardModelVersion !== undefined && req.rewardModelVersion !== rewardModelVersion) {
      throw new EvaluationInputError('rewardModelVersion', `${req.rewardModelVersion} was named, but run ${req.runId} optimised ${rewardModelVersion}`);
    }
    if (req.candidate !== undefined) {
      const named = await this.deps.modelRegistry.get(req.candidate);
      if (!named) throw new ModelVersionNotFoundError(req.candidate, 'candidate');
      if (named.trainingRunId !== req.runId) throw new EvaluationInputError('candidate', `model version ${req.candidate} came from training run ${named.trainingRunId ?? 'none'}, not from run ${req.runId}`);
    }
    const rewardScorer = req.rewardScorer ?? (req.rewardScorerFor ? await req.rewardScorerFor(rewardModelVersion) : this.settings.rewardScorer);
    if (!rewardScorer) throw new EvaluationInputError('rewardModelVersion', `run ${req.runId} optimised ${rewardModelVersion}; name a scorer for it (its proxy reward is half of every divergence check)`);
    const stored = (await training.checkpointsOf(req.runId)).filter((c) => c.step > 0 && c.artifactPath !== null);
    const steps = checkpointStepsToEvaluate(stored.map((c) => c.step), req.every ?? this.settings.checkpointEvery ?? 1);
    if (steps.length === 0) throw new RunNotEvaluableError(req.runId, 'it has no stored checkpoint');
    const pathOf = new Map(stored.map((c) => [c.step, c.artifactPath!]));

    const suites = this.suitesNamed(req.suites);
    const policy = req.policy ?? this.policy;
    const options = this.optionsFor(req);
    const reference = await this.loadPolicy(run.baseModelId, 'run reference');
    const checkpoints: RunCheckpoint[] = [];
    for (const step of steps) {
      const artifact = await readArtifact(this.dirOf(pathOf.get(step)!));
      checkpoints.push({ step, policy: { id: `${req.runId}:step-${step}`, params: artifact.params, tokenizer: artifact.tokenizer } });
    }
    const evaluated = await evaluateCheckpoints({ reference, checkpoints, suites, rewardScorer, options, onCheckpoint: req.onCheckpoint, signal: req.signal });
    const choice = chooseTrainedCheckpoint(policy, evaluated);
    const chosenCandidate = await this.registerCheckpoint(run.id, run.baseModelId, rewardModelVersion, choice, pathOf.get(choice.step)!, evaluated.find((c) => c.step === choice.step)!.kl);
    const result = await this.evaluate({
      candidate: chosenCandidate, incumbent: req.incumbent, suites: req.suites, seeds: req.seeds, maxTokens: req.maxTokens, temperature: req.temperature, policy,
      run: { id: run.id, checkpoints: evaluated, candidateStep: choice.step, reference: { id: run.baseModelId } },
      rewardScorer, judge: req.judge, rmQualityGate: await this.rmQualityGateOf(rewardModelVersion),
    });
    return { ...result, runId: run.id, rewardModelVersion, checkpoints: evaluated, choice, chosenCandidate };
  }

  /**
   * The judge must be a judge RM — trained on a snapshot's held-out split
   * (`metrics.judge`, the reward_model job with split 'heldout') — so that no policy was
   * optimised against it; a judge that was also a PPO reward would grade its own pupil.
   */
  async requireJudge(judgeModelVersion: string): Promise<void> {
    const v = await this.deps.modelRegistry.get(judgeModelVersion);
    if (!v) throw new ModelVersionNotFoundError(judgeModelVersion, 'judge');
    if (!isJudgeRewardModel(v)) {
      throw new EvaluationInputError('judgeModelVersion', `${judgeModelVersion} is ${v.kind === 'reward' ? 'a reward model trained on the train split' : `a ${v.kind} model`}, not a judge RM (train one with the reward_model job's split 'heldout')`);
    }
  }

  /** The chosen checkpoint as a registered policy version (the PPO job registers only the last one). */
  private async registerCheckpoint(runId: string, parentId: string, rewardModelVersion: string, choice: EvalChoice, artifactPath: string, kl: number): Promise<string> {
    const manifest = await readArtifactManifest(this.dirOf(artifactPath));
    const version = await this.deps.modelRegistry.register({
      id: `policy-${manifest.artifactId.slice(0, 16)}`, kind: 'policy', parentId, artifactPath, sha256: manifest.artifactId, trainingRunId: runId,
      metrics: jsonSafe({ rewardModelVersion, step: choice.step, chosenByEval: { metric: choice.metric, bestStep: choice.bestStep, eligibleSteps: choice.eligibleSteps }, kl }),
    }, { ifAbsent: true });
    if (version.kind !== 'policy') throw new EvaluationInputError('runId', `model version ${version.id} exists and is a ${version.kind} model, not the run's checkpoint`);
    return version.id;
  }

  /** The RM quality gate's verdict as the reward_model job recorded it on the RM version (metrics.qualityGate). */
  private async rmQualityGateOf(rewardModelVersion: string): Promise<RuleDecision> {
    const rm = await this.deps.modelRegistry.get(rewardModelVersion);
    if (!rm) throw new ModelVersionNotFoundError(rewardModelVersion, 'reward model');
    const gate = rm.metrics.qualityGate as { verdict?: unknown; rules?: unknown } | null | undefined;
    if (rm.status === 'rejected') return { verdict: 'fail', rules: [], missing: [] };
    if (!gate || (gate.verdict !== 'pass' && gate.verdict !== 'fail' && gate.verdict !== 'needs_review')) {
      // no recorded decision: missing, so the promotion gate asks a human — never a silent pass
      return { verdict: 'needs_review', rules: [], missing: [`the RM quality gate's verdict on ${rewardModelVersion} (none was recorded when it was trained)`] };
    }
    return { verdict: gate.verdict, rules: [], missing: gate.verdict === 'needs_review' ? ['the RM quality gate needed review'] : [] };
  }

  /**
   * The lineage of a candidate for the cumulative KL budget: the KL each promoted ancestor
   * spent against its parent (recorded on its version: `kl`), oldest first, and the
   * original base policy (the root). Null when the candidate has no parent to drift from.
   */
  private async klBudgetInputs(candidateId: string, referenceId: string): Promise<{ promotedKl: number[]; budget?: number; baseId: string } | null> {
    const candidate = await this.deps.modelRegistry.get(candidateId);
    if (!candidate) return null;
    // the candidate's parent chain; an unregistered-parent candidate starts from the reference
    const chain = await this.deps.modelRegistry.lineage(candidate.parentId ?? referenceId);
    const root = chain[chain.length - 1]!;
    const promotedKl = chain.slice(0, -1).reverse()
      .filter((v) => v.status === 'production' || v.status === 'retired')
      .map((v) => (typeof v.metrics.kl === 'number' && Number.isFinite(v.metrics.kl) ? Math.max(0, v.metrics.kl) : 0));
    return { promotedKl, ...(this.settings.klBudget !== undefined ? { budget: this.settings.klBudget } : {}), baseId: root.id };
  }

  /** Sampling (the request's, else the defaults) and the configured bootstrap and engine settings. */
  private optionsFor(req: Pick<EvaluateRequest, 'seeds' | 'maxTokens' | 'temperature'>): CandidateEvaluationOptions & { bootstrap: { seed: number; resamples?: number } } {
    const sampling = { seeds: [...(req.seeds ?? DEFAULT_EVAL_SAMPLING.seeds)], maxTokens: req.maxTokens ?? DEFAULT_EVAL_SAMPLING.maxTokens, temperature: req.temperature ?? DEFAULT_EVAL_SAMPLING.temperature };
    return { sampling, bootstrap: this.settings.bootstrap ?? { seed: 1, resamples: 1000 }, intraOpThreads: this.settings.intraOpThreads, maxBatch: this.settings.maxBatch };
  }

  private dirOf(artifactPath: string): string {
    return isAbsolute(artifactPath) ? artifactPath : this.deps.artifacts.resolve(artifactPath);
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
