// Spam defence for preference labels, applied before pairs are derived:
// 1. per-labeller daily caps: one account cannot flood the dataset;
// 2. a disagreement test: a labeller whose labels disagree with the other labellers'
//    majority far more often than labellers typically do is flagged, and all their
//    labels are excluded. One-sided exact binomial test of k disagreements in n
//    comparisons against the pooled disagreement rate of everyone, with a Bonferroni
//    correction over the labellers tested (so honest noise, tested across many
//    users, does not produce false flags).
import { binomialUpperTail } from './binomial.js';
import { labellerOf, promptHashOf, type CompletionRow, type FeedbackRow } from './dataset.types.js';

export interface SpamDefenceOptions {
  /** most feedback events counted per labeller per UTC day (default 500) */
  maxEventsPerLabellerPerDay: number;
  /** family-wise significance level of the disagreement test (default 0.01) */
  alpha: number;
  /** comparisons with a majority needed before a labeller can be flagged (default 10) */
  minComparisons: number;
  /** floor for the null disagreement rate, so a near-unanimous crowd does not flag a
   *  labeller for two honest disagreements (default 0.05) */
  minBaselineDisagreement: number;
  /** labellers flagged earlier (user_flags): their events are excluded up front and
   *  do not count towards anyone's majority */
  flaggedLabellers?: ReadonlySet<string>;
}

export const DEFAULT_SPAM_DEFENCE: SpamDefenceOptions = {
  maxEventsPerLabellerPerDay: 500,
  alpha: 0.01,
  minComparisons: 10,
  minBaselineDisagreement: 0.05,
};

export interface LabellerAgreement {
  labeller: string;
  /** votes on items where the other labellers have a strict majority */
  comparisons: number;
  disagreements: number;
  /** P(≥ disagreements | comparisons, baseline) */
  pValue: number;
  flagged: boolean;
}

export interface SpamDefenceResult {
  /** events to derive pairs from */
  accepted: FeedbackRow[];
  /** events beyond a labeller's daily cap */
  cappedEventIds: string[];
  /** events of flagged labellers */
  flaggedEventIds: string[];
  /** pooled disagreement rate used as the null hypothesis */
  baselineDisagreement: number;
  /** Bonferroni-corrected per-labeller threshold */
  threshold: number;
  labellers: LabellerAgreement[];
}

/** A binary label on an item, for the majority comparison; null when the event
 *  carries no binary opinion (ties, rating 3, edits, unknown completions). */
function binaryVote(e: FeedbackRow, completions: ReadonlyMap<string, CompletionRow>): { item: string; label: 1 | -1 } | null {
  const c = completions.get(e.completionId);
  if (!c) return null;
  const prompt = promptHashOf(c.messages);
  switch (e.type) {
    case 'thumbs':
      if (e.value !== 1 && e.value !== -1) return null;
      return { item: JSON.stringify(['thumbs', prompt, c.response]), label: e.value };
    case 'rating':
      if (e.value === null || e.value === 3) return null;
      return { item: JSON.stringify(['rating', prompt, c.response]), label: e.value > 3 ? 1 : -1 };
    case 'pairwise': {
      if (e.value !== 1 && e.value !== -1) return null; // ties carry no direction
      const other = e.otherCompletionId ? completions.get(e.otherCompletionId) : undefined;
      if (!other) return null;
      if (c.response === other.response) return null;
      const [first, second] = [c.response, other.response].sort();
      // the item is the unordered pair; the label says whether the lexicographically
      // first response won
      const thisWon = e.value === 1;
      const firstWon = (first === c.response) === thisWon;
      return { item: JSON.stringify(['pair', prompt, first, second]), label: firstWon ? 1 : -1 };
    }
    default:
      return null;
  }
}

function byTimeThenId(a: FeedbackRow, b: FeedbackRow): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function applySpamDefence(
  events: readonly FeedbackRow[],
  completions: ReadonlyMap<string, CompletionRow>,
  options: Partial<SpamDefenceOptions> = {},
): SpamDefenceResult {
  const opts = { ...DEFAULT_SPAM_DEFENCE, ...options };
  const preFlagged = opts.flaggedLabellers ?? new Set<string>();
  const flaggedEventIds: string[] = [];
  const sorted: FeedbackRow[] = [];
  for (const e of [...events].sort(byTimeThenId)) {
    const who = labellerOf(e);
    if (who !== null && preFlagged.has(who)) flaggedEventIds.push(e.id);
    else sorted.push(e);
  }

  // 1. daily caps (anonymous events have no identity to cap; they are kept)
  const perDay = new Map<string, number>();
  const capped = new Set<string>();
  for (const e of sorted) {
    const who = labellerOf(e);
    if (who === null) continue;
    const key = `${who}|${e.createdAt.toISOString().slice(0, 10)}`;
    const n = (perDay.get(key) ?? 0) + 1;
    perDay.set(key, n);
    if (n > opts.maxEventsPerLabellerPerDay) capped.add(e.id);
  }
  const uncapped = sorted.filter((e) => !capped.has(e.id));

  // 2. majority disagreement: tally votes per item per labeller
  const votesByItem = new Map<string, Map<string, { up: number; down: number }>>();
  for (const e of uncapped) {
    const who = labellerOf(e);
    if (who === null) continue;
    const v = binaryVote(e, completions);
    if (!v) continue;
    let byWho = votesByItem.get(v.item);
    if (!byWho) votesByItem.set(v.item, (byWho = new Map()));
    const t = byWho.get(who) ?? { up: 0, down: 0 };
    if (v.label === 1) t.up++;
    else t.down++;
    byWho.set(who, t);
  }
  const tallies = new Map<string, { n: number; k: number }>();
  for (const byWho of votesByItem.values()) {
    if (byWho.size < 2) continue;
    let up = 0;
    let down = 0;
    // each labeller counts once per item (their own majority), so one account
    // repeating a label cannot manufacture a majority
    const own = new Map<string, 1 | -1 | 0>();
    for (const [who, t] of byWho) {
      const label = t.up > t.down ? 1 : t.down > t.up ? -1 : 0;
      own.set(who, label);
      if (label === 1) up++;
      else if (label === -1) down++;
    }
    for (const [who, label] of own) {
      if (label === 0) continue;
      // leave-one-out majority of the others
      const othersUp = up - (label === 1 ? 1 : 0);
      const othersDown = down - (label === -1 ? 1 : 0);
      if (othersUp === othersDown) continue;
      const majority = othersUp > othersDown ? 1 : -1;
      const t = tallies.get(who) ?? { n: 0, k: 0 };
      t.n++;
      if (label !== majority) t.k++;
      tallies.set(who, t);
    }
  }
  let totalN = 0;
  let totalK = 0;
  for (const t of tallies.values()) {
    totalN += t.n;
    totalK += t.k;
  }
  const baseline = Math.min(0.5, Math.max(opts.minBaselineDisagreement, totalN ? totalK / totalN : 0));
  const tested = [...tallies.values()].filter((t) => t.n >= opts.minComparisons).length;
  const threshold = tested ? opts.alpha / tested : opts.alpha; // Bonferroni
  const labellers: LabellerAgreement[] = [...tallies.entries()]
    .map(([labeller, t]) => {
      const pValue = binomialUpperTail(t.k, t.n, baseline);
      return { labeller, comparisons: t.n, disagreements: t.k, pValue, flagged: t.n >= opts.minComparisons && pValue < threshold };
    })
    .sort((a, b) => (a.labeller < b.labeller ? -1 : 1));
  const flaggedWho = new Set(labellers.filter((l) => l.flagged).map((l) => l.labeller));
  const accepted: FeedbackRow[] = [];
  for (const e of uncapped) {
    const who = labellerOf(e);
    if (who !== null && flaggedWho.has(who)) flaggedEventIds.push(e.id);
    else accepted.push(e);
  }
  return { accepted, cappedEventIds: [...capped], flaggedEventIds, baselineDisagreement: baseline, threshold, labellers };
}
