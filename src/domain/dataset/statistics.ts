// Dataset statistics per snapshot (issue 6 part 5): what a reviewer checks before a
// reward model is trained on it.
import type { FeedbackType, PreferenceSource } from '../feedback.js';
import { labellerOf } from './dataset.types.js';

export interface StatisticsPair {
  source: PreferenceSource;
  chosenText: string;
  rejectedText: string;
  eventIds: readonly string[];
  conflictCount: number;
}

export interface ThumbsObservation {
  modelVersion: string;
  value: number; // +1 | -1
}

export interface Summary {
  n: number;
  mean: number | null;
  median: number | null;
}

export interface DatasetStatistics {
  pairsBySource: Record<PreferenceSource, number>;
  /** feedback events by type in the snapshot's window (what the pairs were drawn from) */
  feedbackEventsByType: Record<string, number>;
  /** pairwise events in the window that chose neither response: kept out of the
   *  pairs, counted here (a high tie rate means the responses are hard to tell apart) */
  pairwiseTies: number;
  labelAgreement: {
    /** mean over pairs of supporting / (supporting + contradicting) events */
    meanAgreement: number | null;
    /** fraction of pairs no event contradicts */
    unanimousFraction: number | null;
    conflictedPairs: number;
  };
  /** Singhal et al. 2023 ("A Long Way to Go: Investigating Length Correlations in
   *  RLHF"): if chosen responses are systematically longer, a reward model can learn
   *  length instead of quality. chosen − rejected, in characters and whitespace words. */
  lengthBias: {
    chars: Summary;
    words: Summary;
    chosenLongerFraction: number | null;
    bySource: Record<string, { n: number; meanCharDiff: number | null; chosenLongerFraction: number | null }>;
  };
  /** thumbs-up rate per served model version in the window */
  thumbsUpRateByVersion: Record<string, { up: number; down: number; rate: number }>;
}

function summary(xs: number[]): Summary {
  if (xs.length === 0) return { n: 0, mean: null, median: null };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, mean: round(s.reduce((a, b) => a + b, 0) / s.length), median };
}

/** Rounded to 1e-9 so the statistics, which go into the content-addressed manifest,
 *  do not depend on floating-point summation order across platforms. */
function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

function words(s: string): number {
  const t = s.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

export function datasetStatistics(
  pairs: readonly StatisticsPair[],
  thumbs: readonly ThumbsObservation[] = [],
  feedbackEventsByType: Record<string, number> = {},
  pairwiseTies = 0,
): DatasetStatistics {
  const pairsBySource: Record<PreferenceSource, number> = { pairwise: 0, thumbs: 0, edit: 0, rating: 0 };
  let agreementSum = 0;
  let unanimous = 0;
  const charDiffs: number[] = [];
  const wordDiffs: number[] = [];
  let chosenLonger = 0;
  const bySource = new Map<string, { n: number; sum: number; longer: number }>();
  for (const p of pairs) {
    pairsBySource[p.source]++;
    const support = p.eventIds.length;
    const total = support + p.conflictCount;
    agreementSum += total ? support / total : 1;
    if (p.conflictCount === 0) unanimous++;
    const d = [...p.chosenText].length - [...p.rejectedText].length; // code points, not UTF-16 units
    charDiffs.push(d);
    wordDiffs.push(words(p.chosenText) - words(p.rejectedText));
    if (d > 0) chosenLonger++;
    const s = bySource.get(p.source) ?? { n: 0, sum: 0, longer: 0 };
    s.n++;
    s.sum += d;
    if (d > 0) s.longer++;
    bySource.set(p.source, s);
  }
  const n = pairs.length;
  const versions = new Map<string, { up: number; down: number }>();
  for (const t of thumbs) {
    const v = versions.get(t.modelVersion) ?? { up: 0, down: 0 };
    if (t.value > 0) v.up++;
    else if (t.value < 0) v.down++;
    versions.set(t.modelVersion, v);
  }
  return {
    pairsBySource,
    feedbackEventsByType: Object.fromEntries(Object.entries(feedbackEventsByType).sort(([a], [b]) => (a < b ? -1 : 1))),
    pairwiseTies,
    labelAgreement: {
      meanAgreement: n ? round(agreementSum / n) : null,
      unanimousFraction: n ? round(unanimous / n) : null,
      conflictedPairs: n - unanimous,
    },
    lengthBias: {
      chars: summary(charDiffs),
      words: summary(wordDiffs),
      chosenLongerFraction: n ? round(chosenLonger / n) : null,
      bySource: Object.fromEntries(
        [...bySource.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, s]) => [k, { n: s.n, meanCharDiff: round(s.sum / s.n), chosenLongerFraction: round(s.longer / s.n) }]),
      ),
    },
    thumbsUpRateByVersion: Object.fromEntries(
      [...versions.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, { up: v.up, down: v.down, rate: v.up + v.down ? round(v.up / (v.up + v.down)) : 0 }]),
    ),
  };
}

/** A feedback event in a snapshot's window, with the model version that served its completion. */
export interface WindowFeedback {
  type: FeedbackType;
  value: number | null;
  userId: string | null;
  apiKeyId: string | null;
  modelVersion: string;
}

export interface WindowFeedbackSummary {
  thumbs: ThumbsObservation[];
  byType: Record<string, number>;
  pairwiseTies: number;
}

/** Thumbs (with the serving model version), event counts by type and pairwise ties
 *  in a snapshot's window, leaving out flagged labellers: the statistics' inputs
 *  besides the pairs. */
export function summarizeWindowFeedback(events: Iterable<WindowFeedback>, flaggedLabellers: ReadonlySet<string>): WindowFeedbackSummary {
  const byType: Record<string, number> = {};
  const thumbs: ThumbsObservation[] = [];
  let pairwiseTies = 0;
  for (const e of events) {
    const who = labellerOf(e);
    if (who !== null && flaggedLabellers.has(who)) continue;
    byType[e.type] = (byType[e.type] ?? 0) + 1;
    if (e.type === 'thumbs' && e.value !== null) thumbs.push({ modelVersion: e.modelVersion, value: e.value });
    if (e.type === 'pairwise' && e.value === 0) pairwiseTies++;
  }
  return { thumbs, byType, pairwiseTies };
}
