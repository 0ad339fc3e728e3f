// One evaluation: a candidate policy against the incumbent on every suite, on the same
// prompts and sampling seeds, and each gate policy's verdict on the evidence. This is
// the evaluator's use case without its I/O (no database, no artifact store): the
// service loads the policies, calls this, and stores what it returns.
//
//   sampling    both policies answer every suite prompt once per seed (BatchEngine)
//   scoring     per-token log-probs of each side and of the reference (scoring graph,
//               for kl.k1 / kl.k3), the proxy reward and the judge, when given
//   statistics  compareSamples per suite (paired bootstrap), the reward deltas, the
//               length-controlled gain and win rate, then the gates
import { performance } from 'node:perf_hooks';
import type { ParameterSet } from '../../engine/gpt/config.js';
import { BatchEngine } from '../../engine/runtime/batch-engine.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import {
  type CheckpointEvaluation, type Estimate, type GateDecisionRecord, type GatePolicy, type LengthControlledGain, type LengthControlledWinRate,
  type KlBudget, type MetricValue, type NotApplicable, type OveroptimizationFit, type PromotionEvidence, type ResolvedSuite, type RuleDecision,
  type SuiteComparison, EvaluationInputError, bootstrapMean, chooseCheckpoint, chooseTrainedCheckpoint, compareSamples, decideGate, ensembleDisagreementTrend,
  fitOveroptimization, klBudget, lengthControlledRewardGain, lengthControlledWinRate, mean, pairedBootstrap, promotionGateMetrics, sigmoid,
} from '../../evaluation/index.js';
import {
  type EvalSamplingOptions, type PolicySample, type RewardScorer, ResponseLogprobScorer, attachKlLogprobs, sampleForEval,
} from '../../evaluation/sampling/index.js';

export interface LoadedPolicy {
  /** the model version id (or artifact id) the records name */
  id: string;
  params: ParameterSet;
  tokenizer: BpeTokenizer;
}

export interface CandidateEvaluationOptions {
  sampling: EvalSamplingOptions;
  /** bootstrap seed and resamples for every CI */
  bootstrap: { seed: number; resamples?: number; level?: number };
  /** engine slots (largest decode batch); default 64 */
  maxBatch?: number;
  intraOpThreads?: number;
  /**
   * Samples already drawn, by policy id: sampling is seeded, so a policy answers the same
   * suites with the same options identically, and a caller evaluating one policy several
   * times (a run's checkpoints, then the chosen one against the incumbent) samples it once.
   * The key includes the sampling options and suites; ids must name distinct weights.
   */
  sampleCache?: Map<string, Map<string, PolicySample[]>>;
}

export interface CandidateEvaluationInput {
  candidate: LoadedPolicy;
  incumbent: LoadedPolicy;
  /** the KL reference; default the incumbent (the policy this iteration's PPO started from) */
  reference?: LoadedPolicy;
  suites: readonly ResolvedSuite[];
  /** the configured gate, and the others to run beside it on the same evidence (the naive gate) */
  policies: readonly GatePolicy[];
  rewardScorer?: RewardScorer;
  judge?: RewardScorer;
  /** the run the candidate came from: its evaluated checkpoints (for reward-up-eval-down, the Gao fit and the 1-SE choice) */
  run?: { checkpoints: readonly CheckpointEvaluation[]; candidateStep: number };
  /** the RM quality gate's decision on the reward model the candidate was trained against, or why it does not apply */
  rmQualityGate?: RuleDecision | NotApplicable;
  /**
   * The cumulative KL budget (kl-budget.ts): the KL of each promotion so far (oldest
   * first), the budget, and the original base policy — its log-probs on the candidate's
   * samples give the KL to the base directly when it is not the reference.
   */
  klBudget?: { promotedKl: readonly number[]; budget?: number; base?: LoadedPolicy };
  options: CandidateEvaluationOptions;
}

export interface SideSamples {
  policy: string;
  samples: PolicySample[];
  /** proxy reward of each sample (same order), when a reward scorer was given */
  rewards?: number[];
  ensembleDisagreement?: number[];
}

export interface CandidateEvaluation {
  candidate: string;
  incumbent: string;
  reference: string;
  comparisons: SuiteComparison[];
  /** the metric record every policy read */
  metrics: Record<string, MetricValue>;
  decisions: GateDecisionRecord[];
  proxyReward?: { candidate: Estimate; incumbent: Estimate; delta: Estimate };
  lengthControlled?: LengthControlledGain;
  judge?: LengthControlledWinRate;
  overoptimization?: OveroptimizationFit;
  klBudget?: KlBudget;
  /** the eval metric the Gao fit is of (the policy's checkpointChoice metric) */
  overoptimizationMetric?: string;
  /** suite name → each side's samples (response lengths for the report) */
  sides: { candidate: Map<string, SideSamples>; incumbent: Map<string, SideSamples> };
  timings: { samplingSeconds: number; scoringSeconds: number; statisticsSeconds: number };
  samples: number;
}

export async function sampleSide(policy: LoadedPolicy, suites: readonly ResolvedSuite[], opts: CandidateEvaluationOptions): Promise<Map<string, PolicySample[]>> {
  const key = JSON.stringify([policy.id, suites.map((s) => [s.name, s.promptSet.sha256]), opts.sampling]);
  const cached = opts.sampleCache?.get(key);
  if (cached) return cached;
  const sampled = await sampleFresh(policy, suites, opts);
  opts.sampleCache?.set(key, sampled);
  return sampled;
}

async function sampleFresh(policy: LoadedPolicy, suites: readonly ResolvedSuite[], opts: CandidateEvaluationOptions): Promise<Map<string, PolicySample[]>> {
  const engine = await BatchEngine.fromParameters(policy.params, policy.tokenizer, { maxBatch: opts.maxBatch ?? 64, intraOpThreads: opts.intraOpThreads });
  try {
    // every suite's rows at once: the engine batches across suites too
    const perSuite = await Promise.all(suites.map((s) => sampleForEval(engine, policy.tokenizer, s.promptSet.prompts, opts.sampling)));
    return new Map(suites.map((s, i) => [s.name, perSuite[i]!]));
  } finally {
    await engine.close();
  }
}

const rowsOf = (suite: ResolvedSuite, samples: readonly PolicySample[]) => {
  const byId = new Map(suite.promptSet.prompts.map((p) => [p.id, p]));
  return samples.map((s) => ({ messages: byId.get(s.promptId)!.messages, response: s.response }));
};

/** Std over the members of each row: the ensemble's disagreement on that response. */
function memberStd(members: readonly (Float64Array | number[])[], rows: number): number[] {
  return Array.from({ length: rows }, (_, i) => {
    const xs = members.map((m) => m[i]!);
    const mu = mean(xs);
    return Math.sqrt(mean(xs.map((x) => (x - mu) ** 2)));
  });
}

export async function scoreRewards(scorer: RewardScorer, suites: readonly ResolvedSuite[], side: Map<string, SideSamples>): Promise<void> {
  for (const suite of suites) {
    const s = side.get(suite.name)!;
    const scores = await scorer.score(rowsOf(suite, s.samples));
    if (scores.rewards.length !== s.samples.length) throw new EvaluationInputError('rewardScorer', `${scorer.id} returned ${scores.rewards.length} rewards for ${s.samples.length} responses`);
    s.rewards = Array.from(scores.rewards);
    if (scores.members && scores.members.length > 1) s.ensembleDisagreement = memberStd(scores.members, s.samples.length);
  }
}

export const concat = <T>(side: Map<string, SideSamples>, pick: (s: SideSamples) => readonly T[]): T[] => [...side.values()].flatMap(pick);

/** KL of the candidate to the reference: the mean over every sample of Σ_t (log π − log π_ref), in nats per response. */
export function meanSequenceKl(side: Map<string, SideSamples>): number {
  const kls = concat(side, (s) => s.samples).map((s) => s.logprobs!.reduce((acc, lp, t) => acc + lp - s.refLogprobs![t]!, 0));
  return mean(kls);
}

export async function evaluateCandidate(input: CandidateEvaluationInput): Promise<CandidateEvaluation> {
  const { candidate, incumbent, suites, policies, options } = input;
  const reference = input.reference ?? incumbent;
  if (suites.length === 0) throw new EvaluationInputError('suites', 'name at least one suite');
  if (policies.length === 0) throw new EvaluationInputError('policies', 'name at least one gate policy');
  if (candidate.params.config.vocabSize !== incumbent.params.config.vocabSize) throw new EvaluationInputError('incumbent', 'candidate and incumbent have different vocabularies');
  const boot = options.bootstrap;

  let t0 = performance.now();
  const cSamples = await sampleSide(candidate, suites, options);
  const iSamples = await sampleSide(incumbent, suites, options);
  const samplingSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const logprobScorer = await ResponseLogprobScorer.create(candidate.params, { intraOpThreads: options.intraOpThreads });
  const withKl = async (policy: LoadedPolicy, samples: Map<string, PolicySample[]>): Promise<Map<string, SideSamples>> => {
    const out = new Map<string, SideSamples>();
    for (const [suite, rows] of samples) out.set(suite, { policy: policy.id, samples: await attachKlLogprobs(logprobScorer, policy.params, reference.params, rows) });
    return out;
  };
  const cSide = await withKl(candidate, cSamples);
  const iSide = await withKl(incumbent, iSamples);
  if (input.rewardScorer) {
    await scoreRewards(input.rewardScorer, suites, cSide);
    await scoreRewards(input.rewardScorer, suites, iSide);
  }
  let judgeScores: { c: number[]; i: number[] } | undefined;
  if (input.judge) {
    const c: number[] = [], i: number[] = [];
    for (const suite of suites) {
      c.push(...Array.from((await input.judge.score(rowsOf(suite, cSide.get(suite.name)!.samples))).rewards));
      i.push(...Array.from((await input.judge.score(rowsOf(suite, iSide.get(suite.name)!.samples))).rewards));
    }
    judgeScores = { c, i };
  }
  const scoringSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const comparisons: SuiteComparison[] = [];
  for (const suite of suites) comparisons.push(await compareSamples(suite, cSide.get(suite.name)!.samples, iSide.get(suite.name)!.samples, boot));

  const evidence: PromotionEvidence = { suites: comparisons, candidateKl: meanSequenceKl(cSide) };
  const out: Partial<CandidateEvaluation> = {};
  // Samples of both sides are in the same (suite, prompt, seed) order, so index i pairs them.
  const lengthsOf = (side: Map<string, SideSamples>) => concat(side, (s) => s.samples.map((x) => x.tokens ?? 0));
  if (input.rewardScorer) {
    const cr = concat(cSide, (s) => s.rewards!), ir = concat(iSide, (s) => s.rewards!);
    const delta = pairedBootstrap(cr, ir, boot);
    evidence.proxyRewardDelta = delta;
    out.proxyReward = { candidate: bootstrapMean(cr, boot), incumbent: bootstrapMean(ir, boot), delta };
    const cl = lengthsOf(cSide), il = lengthsOf(iSide);
    evidence.lengthControlled = lengthControlledRewardGain(ir.map((reward, k) => ({ reward, length: il[k]! })), cr.map((reward, k) => ({ reward, length: cl[k]! })), boot);
    out.lengthControlled = evidence.lengthControlled;
  }
  if (judgeScores) {
    const cl = lengthsOf(cSide), il = lengthsOf(iSide);
    // Bradley–Terry: the judge's preference for the candidate's response on the same prompt and seed
    evidence.judge = lengthControlledWinRate(judgeScores.c.map((rc, k) => ({ preference: sigmoid(rc - judgeScores.i[k]!), candidateLength: cl[k]!, incumbentLength: il[k]! })), boot);
    out.judge = evidence.judge;
  }
  const run = input.run;
  let chosenCheckpoint = null;
  if (run) {
    const configured = policies[0]!;
    const evalMetrics = configured.checkpointChoice ? [{ metric: configured.checkpointChoice.metric, direction: configured.checkpointChoice.direction }] : [];
    if (evalMetrics.length > 0) evidence.run = { checkpoints: run.checkpoints, candidateStep: run.candidateStep, evalMetrics };
    if (configured.checkpointChoice) {
      chosenCheckpoint = run.checkpoints.some((c) => c.step > 0) ? chooseTrainedCheckpoint(configured, run.checkpoints) : chooseCheckpoint(configured, run.checkpoints);
      const metric = configured.checkpointChoice.metric;
      const points = run.checkpoints.filter((c) => c.metrics[metric]).map((c) => {
        const e = c.metrics[metric]!;
        return { kl: c.kl, value: e.value, halfWidth: (e.upper - e.lower) / 2 };
      });
      if (points.filter((p) => p.kl > 0).length >= 2 && points.some((p) => p.kl === 0)) {
        evidence.overoptimization = fitOveroptimization(points, { form: 'rl' });
        out.overoptimization = evidence.overoptimization;
        out.overoptimizationMetric = metric;
      }
    }
    if (run.checkpoints.filter((c) => c.ensembleDisagreement).length >= 2) evidence.ensembleDisagreement = ensembleDisagreementTrend(run.checkpoints);
    else if (input.rewardScorer && ![...cSide.values()].some((s) => s.ensembleDisagreement)) evidence.ensembleDisagreement = { notApplicable: `the reward model ${input.rewardScorer.id} is a single model, not an ensemble: there are no members to disagree` };
  }
  if (input.rmQualityGate) evidence.rmQualityGate = input.rmQualityGate;
  if (input.klBudget) {
    const { promotedKl, budget, base } = input.klBudget;
    let candidateKlToBase: number | undefined;
    if (base && base.params.data !== reference.params.data) {
      const toBase = new Map<string, SideSamples>();
      for (const [suite, s] of cSide) toBase.set(suite, { policy: candidate.id, samples: await attachKlLogprobs(logprobScorer, candidate.params, base.params, s.samples) });
      candidateKlToBase = meanSequenceKl(toBase);
    }
    // a k1 estimate of a small KL can come out slightly negative; KL itself is ≥ 0
    evidence.klBudget = klBudget({ promotedKl, candidateKl: Math.max(0, evidence.candidateKl!), candidateKlToBase: candidateKlToBase === undefined ? undefined : Math.max(0, candidateKlToBase), budget });
    out.klBudget = evidence.klBudget;
  }
  const metrics = promotionGateMetrics(evidence);
  const decisions = policies.map((p) => decideGate(p, { candidate: candidate.id, metrics, chosenCheckpoint }));
  const statisticsSeconds = (performance.now() - t0) / 1000;

  return {
    candidate: candidate.id,
    incumbent: incumbent.id,
    reference: reference.id,
    comparisons,
    metrics,
    decisions,
    ...out,
    sides: { candidate: cSide, incumbent: iSide },
    timings: { samplingSeconds, scoringSeconds, statisticsSeconds },
    samples: concat(cSide, (s) => s.samples).length * 2,
  };
}
