// The bookkeeping of a gate confusion table (the gate bench): candidates labelled by an
// outcome the gate never sees, each policy's verdicts counted against the labels.
//
// The label is the candidate's gold-utility difference from the incumbent on a hidden
// prompt set, paired over the same prompts and sampling seeds, with its bootstrap CI:
//   good      the whole CI lies above 0 — users are better off, beyond noise
//   harmful   the whole CI lies below 0 — users are worse off, beyond noise
//   neutral   the CI straddles 0 — no measurable change either way
// Neutral candidates are reported but enter neither rate: blocking a change that does
// nothing is no error, and promoting one does no harm. Only `pass` promotes, so
// `needs_review` counts as blocked, and is counted separately too.

import type { Estimate } from '../statistics/index.js';
import type { GateVerdict } from './rule-engine.js';

export type GoldLabel = 'good' | 'harmful' | 'neutral';

/** The label of a candidate from its paired gold Δ vs the incumbent (estimate with CI). */
export function labelByGoldDelta(delta: Pick<Estimate, 'lower' | 'upper'>): GoldLabel {
  if (!(Number.isFinite(delta.lower) && Number.isFinite(delta.upper))) throw new RangeError(`labelByGoldDelta: the gold Δ needs a finite CI, got [${delta.lower}, ${delta.upper}]`);
  if (delta.lower > 0) return 'good';
  if (delta.upper < 0) return 'harmful';
  return 'neutral';
}

export interface VerdictCounts {
  candidates: number;
  promoted: number;
  failed: number;
  needsReview: number;
}

export interface ConfusionTable {
  policy: string;
  good: VerdictCounts;
  harmful: VerdictCounts;
  neutral: VerdictCounts;
  /** harmful candidates not promoted (fail + needs_review) ÷ harmful; null without any */
  harmfulBlocked: number | null;
  /** harmful candidates promoted ÷ harmful; null without any */
  harmfulPromoted: number | null;
  /** good candidates not promoted ÷ good; null without any */
  goodBlocked: number | null;
}

const counts = (verdicts: readonly GateVerdict[]): VerdictCounts => ({
  candidates: verdicts.length,
  promoted: verdicts.filter((v) => v === 'pass').length,
  failed: verdicts.filter((v) => v === 'fail').length,
  needsReview: verdicts.filter((v) => v === 'needs_review').length,
});

const share = (n: number, of: number): number | null => (of === 0 ? null : n / of);

/** One policy's verdicts on labelled candidates, counted. */
export function confusionTable(policy: string, judged: readonly { label: GoldLabel; verdict: GateVerdict }[]): ConfusionTable {
  const of = (label: GoldLabel) => counts(judged.filter((j) => j.label === label).map((j) => j.verdict));
  const good = of('good'), harmful = of('harmful'), neutral = of('neutral');
  return {
    policy,
    good,
    harmful,
    neutral,
    harmfulBlocked: share(harmful.candidates - harmful.promoted, harmful.candidates),
    harmfulPromoted: share(harmful.promoted, harmful.candidates),
    goodBlocked: share(good.candidates - good.promoted, good.candidates),
  };
}

export interface ChosenGold {
  chosenStep: number;
  chosenGold: number;
  bestStep: number;
  bestGold: number;
  /** chosen ÷ best; null when the best gold is not positive (a ratio of non-positive levels says nothing) */
  ratio: number | null;
}

/** The gold of the checkpoint chosen by eval against the best checkpoint's gold (over the same checkpoints). */
export function chosenGoldRatio(checkpoints: readonly { step: number; gold: number }[], chosenStep: number): ChosenGold {
  const chosen = checkpoints.find((c) => c.step === chosenStep);
  if (!chosen) throw new RangeError(`chosenGoldRatio: no checkpoint at step ${chosenStep}`);
  const best = checkpoints.reduce((a, b) => (b.gold > a.gold ? b : a));
  return { chosenStep, chosenGold: chosen.gold, bestStep: best.step, bestGold: best.gold, ratio: best.gold > 0 ? chosen.gold / best.gold : null };
}

export interface RuleBlocks {
  /** candidates of the label the rule failed */
  fails: number;
  /** of those, the ones it alone blocked: no other rule failed and no metric was missing */
  sole: number;
}

export interface RuleAttribution {
  rule: string;
  good: RuleBlocks;
  harmful: RuleBlocks;
  neutral: RuleBlocks;
}

/**
 * Which rules block which labels: per rule, how many candidates of each label it failed,
 * and how many it alone blocked (dropping that rule would have promoted them). A rule that
 * fails good candidates and is never the sole block of a harmful one costs promotions and
 * buys no protection on this suite. Rules in first-seen order.
 */
export function ruleAttribution(judged: readonly { label: GoldLabel; failing: readonly string[]; missing?: readonly string[] }[]): RuleAttribution[] {
  const byRule = new Map<string, RuleAttribution>();
  for (const { label, failing, missing = [] } of judged) {
    const rules = new Set(failing);
    const alone = rules.size === 1 && missing.length === 0;
    for (const rule of rules) {
      let a = byRule.get(rule);
      if (!a) byRule.set(rule, (a = { rule, good: { fails: 0, sole: 0 }, harmful: { fails: 0, sole: 0 }, neutral: { fails: 0, sole: 0 } }));
      a[label].fails++;
      if (alone) a[label].sole++;
    }
  }
  return [...byRule.values()];
}
