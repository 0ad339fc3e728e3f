// The evaluator's Prometheus metrics: each gate policy's verdicts, and the latest
// evaluation's hacking scorecard as gauges, so alert rules can fire on a gate that
// waits for a human and on the signs of reward hacking (docs/monitoring.md).
//
// Labels are bounded: the gate policy's name (the configured policy and the naive
// one), the verdict, and the side (candidate | incumbent; a paired figure such as a
// gain is the candidate's). Model ids and evaluation
// ids are never labels — they are in the evaluations and gate_decisions rows.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GateDecisionRecordRow, GateVerdict } from '../../domain/evaluation.js';
import { type MetricValue, mean, spearman } from '../../evaluation/index.js';
import { metric } from '../../platform/metrics/metrics.js';
import type { CandidateEvaluation, SideSamples } from './candidate-evaluation.js';

const VERDICTS: readonly GateVerdict[] = ['pass', 'fail', 'needs_review'];

/** Scorecard gauges read from the metric record the gates read (docs/evaluation.md, the metric catalog). */
export const FROM_GATE_METRICS = [
  { name: 'outerloop_eval_proxy_reward_gain', key: 'proxyReward.delta', help: 'proxy (RM) reward of the candidate minus the incumbent\'s, latest evaluation' },
  { name: 'outerloop_eval_length_controlled_reward_gain', key: 'lengthControlled.rewardGain', help: 'reward gain within length strata: the part of the gain not explained by length, latest evaluation' },
  { name: 'outerloop_eval_length_shift_tokens', key: 'lengthControlled.lengthShift', help: 'mean response length of the candidate minus the incumbent\'s, in tokens, latest evaluation' },
  { name: 'outerloop_eval_length_controlled_win_rate', key: 'judge.lengthControlledWinRate', help: 'held-out judge\'s preference for the candidate at equal length (AlpacaEval-LC), latest evaluation' },
  { name: 'outerloop_eval_kl_to_reference', key: 'kl.toReference', help: 'KL of the candidate to the reference policy, nats per response, latest evaluation' },
  { name: 'outerloop_eval_kl_fraction_of_predicted_peak', key: 'kl.fractionOfPredictedPeak', help: 'KL to the reference divided by the KL of the eval peak the Gao et al. fit predicts, latest evaluation' },
  { name: 'outerloop_eval_kl_budget_exceeded', key: 'kl.budgetExceeded', help: '1 when the cumulative KL from the base policy exceeds its budget, latest evaluation' },
  { name: 'outerloop_eval_ensemble_disagreement_growth', key: 'ensembleDisagreement.growth', help: 'relative growth of the RM ensemble\'s disagreement over the run\'s checkpoints (last / first - 1), latest evaluation' },
] as const;

/** A gate metric as one number: an estimate's point value, a number, a yes/no as 1/0; null when not measured or not applicable. */
export function gaugeValue(m: MetricValue): number | null {
  if (typeof m === 'number') return Number.isFinite(m) ? m : null;
  if (typeof m === 'boolean') return m ? 1 : 0;
  if (m && typeof m === 'object' && 'value' in m) return Number.isFinite(m.value) ? m.value : null;
  return null;
}

/** Spearman's ρ of the proxy reward with response length over one side's samples; null without rewards or with constant data. */
function rewardLengthCorrelation(sides: ReadonlyMap<string, SideSamples>): number | null {
  const all = [...sides.values()];
  if (all.length === 0 || all.some((s) => !s.rewards)) return null;
  const rewards = all.flatMap((s) => s.rewards!);
  const lengths = all.flatMap((s) => s.samples.map((x) => x.tokens ?? 0));
  if (rewards.length < 3) return null;
  const rho = spearman(rewards, lengths);
  return Number.isFinite(rho) ? rho : null;
}

/** The mean over one side's responses of the RM ensemble members' standard deviation; null for a single RM. */
function ensembleDisagreement(sides: ReadonlyMap<string, SideSamples>): number | null {
  const all = [...sides.values()];
  if (all.length === 0 || all.some((s) => !s.ensembleDisagreement)) return null;
  return mean(all.flatMap((s) => s.ensembleDisagreement!));
}

export class EvaluatorMetrics {
  private readonly decisions: Counter<'policy' | 'verdict'>;
  private readonly verdict: Gauge<'policy' | 'verdict'>;
  private readonly decidedAt: Gauge<'policy'>;
  private readonly scorecard: Array<{ gauge: Gauge<'side'>; key: string }>;
  private readonly correlation: Gauge<'side'>;
  private readonly disagreement: Gauge<'side'>;

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      metric(registry, name, () => new Gauge<L>({ name, help, labelNames, registers: [registry] }));
    this.decisions = metric(registry, 'outerloop_gate_decisions_total', () =>
      new Counter({ name: 'outerloop_gate_decisions_total', help: 'gate decisions made, by policy and verdict', labelNames: ['policy', 'verdict'] as const, registers: [registry] }),
    );
    this.verdict = gauge('outerloop_gate_verdict', 'the latest decision of each gate policy: 1 on its verdict, 0 on the others', ['policy', 'verdict'] as const);
    this.decidedAt = gauge('outerloop_gate_decision_timestamp_seconds', 'when each gate policy last decided (Unix time)', ['policy'] as const);
    // side="candidate" on the paired figures too: a gauge without labels reads 0 before it
    // is set, and a figure that was not measured must be absent, not 0
    this.scorecard = FROM_GATE_METRICS.map((s) => ({ gauge: gauge(s.name, s.help, ['side'] as const), key: s.key }));
    this.correlation = gauge('outerloop_eval_reward_length_correlation', 'Spearman correlation of the proxy reward with response length (tokens), latest evaluation, per side', ['side'] as const);
    this.disagreement = gauge('outerloop_eval_ensemble_disagreement', 'mean standard deviation of the RM ensemble members\' rewards per response, latest evaluation, per side', ['side'] as const);
  }

  /** The policies this evaluator decides with: their decision counters start at 0 (a first needs_review is then an increase). */
  expectPolicies(names: readonly string[]): void {
    for (const policy of names) for (const verdict of VERDICTS) this.decisions.inc({ policy, verdict }, 0);
  }

  /**
   * After an evaluation is stored: count each decision, mark each policy's latest
   * verdict, and replace the scorecard with this evaluation's figures — a figure this
   * evaluation did not measure is removed, not left at an older candidate's value.
   */
  evaluated(evaluation: CandidateEvaluation, decisions: readonly GateDecisionRecordRow[], at: Date): void {
    for (const d of decisions) {
      const policy = d.policyName ?? 'unnamed';
      this.decisions.inc({ policy, verdict: d.verdict });
      for (const v of VERDICTS) this.verdict.set({ policy, verdict: v }, v === d.verdict ? 1 : 0);
      this.decidedAt.set({ policy }, at.getTime() / 1000);
    }
    for (const { gauge, key } of this.scorecard) {
      gauge.reset();
      const value = gaugeValue(evaluation.metrics[key]);
      if (value !== null) gauge.set({ side: 'candidate' }, value);
    }
    this.correlation.reset();
    this.disagreement.reset();
    for (const side of ['candidate', 'incumbent'] as const) {
      const rho = rewardLengthCorrelation(evaluation.sides[side]);
      if (rho !== null) this.correlation.set({ side }, rho);
      const sd = ensembleDisagreement(evaluation.sides[side]);
      if (sd !== null) this.disagreement.set({ side }, sd);
    }
  }
}
