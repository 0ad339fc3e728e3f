// Run evaluation: every evaluated checkpoint of one PPO run on the suites, as the
// divergence module reads them (CheckpointEvaluation: eval metrics with bootstrap CIs,
// KL to the run's reference, proxy reward, RM ensemble disagreement), and the checkpoint
// to ship chosen by eval — never by reward (ARCHITECTURE §6; Gao et al. 2022, Fig. 1).
//
// The run's reference (the policy PPO started from) is evaluated too, as step 0 with
// KL 0: the Gao fit is anchored there, and "reward up, eval down" compares with it when
// the run never improved on it. It is not a candidate: the choice is among the trained
// checkpoints (shipping the reference is shipping nothing; the incumbent comparison
// then says whether the best trained checkpoint is worth promoting).
import {
  type CheckpointEvaluation, type Estimate, type ResolvedSuite, EvaluationInputError, bootstrapMean,
  evaluateSamples,
} from '../../evaluation/index.js';
import { type RewardScorer, ResponseLogprobScorer, attachKlLogprobs } from '../../evaluation/sampling/index.js';
import {
  type CandidateEvaluationOptions, type LoadedPolicy, type SideSamples, concat, meanSequenceKl, sampleSide, scoreRewards,
} from './candidate-evaluation.js';

export interface RunCheckpoint {
  step: number;
  policy: LoadedPolicy;
}

export interface CheckpointEvaluationsInput {
  /** the policy the run started from: KL reference, and step 0 of the curve */
  reference: LoadedPolicy;
  /** the trained checkpoints to evaluate (step > 0), in any order */
  checkpoints: readonly RunCheckpoint[];
  suites: readonly ResolvedSuite[];
  /** the RM the run optimised: proxy reward, and ensemble disagreement when it has members */
  rewardScorer: RewardScorer;
  options: CandidateEvaluationOptions;
  onCheckpoint?: (done: number, total: number, evaluation: CheckpointEvaluation) => void;
  signal?: AbortSignal;
}

/** Mean response length (tokens) per checkpoint, for the report beside the metrics. */
export interface EvaluatedCheckpoint extends CheckpointEvaluation {
  policy: string;
  meanTokens: number;
}

/** Every checkpoint (and the reference as step 0) on every suite, with its metrics' CIs, KL to the reference and proxy reward. */
export async function evaluateCheckpoints(input: CheckpointEvaluationsInput): Promise<EvaluatedCheckpoint[]> {
  const { reference, suites, options } = input;
  if (input.checkpoints.length === 0) throw new EvaluationInputError('checkpoints', 'the run has no checkpoint to evaluate');
  if (suites.length === 0) throw new EvaluationInputError('suites', 'name at least one suite');
  input.checkpoints.forEach((c, i) => {
    if (!(Number.isInteger(c.step) && c.step > 0)) throw new EvaluationInputError(`checkpoints[${i}].step`, `must be a positive integer (step 0 is the reference), got ${c.step}`);
  });
  const ordered = [{ step: 0, policy: reference }, ...[...input.checkpoints].sort((a, b) => a.step - b.step)];
  const logprobScorer = await ResponseLogprobScorer.create(reference.params, { intraOpThreads: options.intraOpThreads });
  const out: EvaluatedCheckpoint[] = [];
  for (const { step, policy } of ordered) {
    input.signal?.throwIfAborted();
    const sampled = await sampleSide(policy, suites, options);
    const side = new Map<string, SideSamples>();
    for (const [suite, rows] of sampled) side.set(suite, { policy: policy.id, samples: await attachKlLogprobs(logprobScorer, policy.params, reference.params, rows) });
    const metrics: Record<string, Estimate> = {};
    for (const suite of suites) Object.assign(metrics, (await evaluateSamples(suite, side.get(suite.name)!.samples, options.bootstrap)).metrics);
    await scoreRewards(input.rewardScorer, suites, side);
    const proxyReward = bootstrapMean(concat(side, (s) => s.rewards!), options.bootstrap);
    const ensembleDisagreement = [...side.values()].every((s) => s.ensembleDisagreement)
      ? bootstrapMean(concat(side, (s) => s.ensembleDisagreement!), options.bootstrap) : undefined;
    const samples = concat(side, (s) => s.samples);
    const evaluation: EvaluatedCheckpoint = {
      step, policy: policy.id,
      // the reference against itself is exactly 0; a sampled k1 estimate elsewhere can dip below 0 by noise
      kl: step === 0 ? 0 : Math.max(0, meanSequenceKl(side)),
      proxyReward, metrics,
      ...(ensembleDisagreement ? { ensembleDisagreement } : {}),
      meanTokens: samples.reduce((n, s) => n + (s.tokens ?? 0), 0) / samples.length,
    };
    out.push(evaluation);
    input.onCheckpoint?.(out.length, ordered.length, evaluation);
  }
  return out;
}

/** Which of a run's checkpoint steps to evaluate: every k-th, and always the last. */
export function checkpointStepsToEvaluate(steps: readonly number[], every: number): number[] {
  if (!(Number.isInteger(every) && every >= 1)) throw new EvaluationInputError('every', `must be an integer ≥ 1, got ${every}`);
  const sorted = [...new Set(steps)].filter((s) => s > 0).sort((a, b) => a - b);
  return sorted.filter((_, i) => (i + 1) % every === 0 || i === sorted.length - 1);
}
