// Preference pairs from feedback (issue 6 part 3). Four sources, each a function:
//   pairwise  an explicit choice between two completions of one prompt (ties counted, not paired)
//   thumbs    a thumbs-up response vs a thumbs-down response to the same prompt
//   edit      the user's edited response preferred over the original
//   rating    two responses to the same prompt whose mean ratings differ by ≥ a margin
// Responses are compared by text, so the same answer served twice is one response.
// Every pair carries the ids of the events that support it and of those that
// contradict it: conflicting labels are kept and counted, never overwritten — when
// both directions have support, both pairs exist, each with the other's events as
// its conflicts, and the snapshot's conflict policy decides what to train on.
import { contentHash } from './canonical.js';
import { promptHashOf, type ChatMessages, type CompletionRow, type FeedbackRow, type PreferencePairRow } from './dataset.types.js';
import type { PreferenceSource } from '../feedback.js';

export interface PairDerivationOptions {
  /** rating pairs need mean ratings at least this far apart (default 1) */
  minRatingMargin: number;
  /** thumbs and rating pairs per prompt are a cross product; keep at most this many,
   *  largest margin first (default 50) */
  maxPairsPerPrompt: number;
}

export const DEFAULT_PAIR_DERIVATION: PairDerivationOptions = { minRatingMargin: 1, maxPairsPerPrompt: 50 };

export interface PairDerivationReport {
  events: Record<FeedbackRow['type'], number>;
  /** pairwise events that chose neither (value 0) */
  pairwiseTies: number;
  /** events that could not form a pair, by reason */
  skipped: Record<string, number>;
  pairs: Record<PreferenceSource, number>;
  /** pairs with at least one contradicting event */
  conflictedPairs: number;
}

export interface DerivedPairs {
  pairs: PreferencePairRow[];
  report: PairDerivationReport;
}

interface Side {
  text: string;
  completionId: string | null;
  modelVersion: string | null;
}

/** The deterministic id of a pair: hash of (prompt, chosen text, rejected text, source). */
export function preferencePairId(promptHash: string, chosenText: string, rejectedText: string, source: PreferenceSource): string {
  return contentHash({ prompt: promptHash, chosen: chosenText, rejected: rejectedText, source });
}

/** Accumulates directional votes and turns them into pair rows. */
class PairAccumulator {
  private readonly directed = new Map<
    string,
    { promptHash: string; prompt: ChatMessages; chosen: Side; rejected: Side; margin: number; eventIds: Set<string>; latest: Date }
  >();

  constructor(private readonly source: PreferenceSource) {}

  vote(prompt: ChatMessages, promptHash: string, chosen: Side, rejected: Side, eventIds: Iterable<string>, at: Date, margin = 1): void {
    const key = directedKey(promptHash, chosen.text, rejected.text);
    let d = this.directed.get(key);
    if (!d) {
      d = { promptHash, prompt, chosen: { ...chosen }, rejected: { ...rejected }, margin, eventIds: new Set(), latest: at };
      this.directed.set(key, d);
    }
    for (const id of eventIds) d.eventIds.add(id);
    if (at > d.latest) d.latest = at;
    d.margin = Math.max(d.margin, margin);
    // keep the smallest completion id for a text, so the row is the same whatever the event order
    d.chosen = pickSide(d.chosen, chosen);
    d.rejected = pickSide(d.rejected, rejected);
  }

  /** Attach explicit conflict evidence (thumbs/rating, where conflicts are per event, not per direction). */
  private readonly extraConflicts = new Map<string, Set<string>>();
  conflict(promptHash: string, chosenText: string, rejectedText: string, eventIds: Iterable<string>): void {
    const key = directedKey(promptHash, chosenText, rejectedText);
    let s = this.extraConflicts.get(key);
    if (!s) this.extraConflicts.set(key, (s = new Set()));
    for (const id of eventIds) s.add(id);
  }

  rows(): PreferencePairRow[] {
    const out: PreferencePairRow[] = [];
    for (const [key, d] of this.directed) {
      const reverse = this.directed.get(directedKey(d.promptHash, d.rejected.text, d.chosen.text));
      const conflicting = new Set<string>([...(reverse?.eventIds ?? []), ...(this.extraConflicts.get(key) ?? [])]);
      for (const id of d.eventIds) conflicting.delete(id);
      const eventIds = [...d.eventIds].sort();
      const conflictingEventIds = [...conflicting].sort();
      out.push({
        id: preferencePairId(d.promptHash, d.chosen.text, d.rejected.text, this.source),
        promptHash: d.promptHash,
        promptMessages: d.prompt.map((m) => ({ role: m.role, content: m.content })),
        chosenCompletionId: d.chosen.completionId,
        rejectedCompletionId: d.rejected.completionId,
        chosenText: d.chosen.text,
        rejectedText: d.rejected.text,
        margin: d.margin,
        source: this.source,
        eventIds,
        conflictCount: conflictingEventIds.length,
        conflictingEventIds,
        chosenModelVersion: d.chosen.modelVersion,
        rejectedModelVersion: d.rejected.modelVersion,
        createdAt: d.latest,
      });
    }
    return out;
  }
}

/** Map key of one direction of one pair; JSON keeps arbitrary texts unambiguous
 *  without hashing them (hashing every vote's texts dominated derivation time). */
function directedKey(promptHash: string, chosenText: string, rejectedText: string): string {
  return JSON.stringify([promptHash, chosenText, rejectedText]);
}

function pickSide(a: Side, b: Side): Side {
  if (a.completionId === null) return b.completionId === null ? a : b;
  if (b.completionId === null) return a;
  return a.completionId <= b.completionId ? a : b;
}

function sideOf(c: CompletionRow): Side {
  return { text: c.response, completionId: c.id, modelVersion: c.modelVersion };
}

function bump(r: Record<string, number>, key: string, by = 1): void {
  r[key] = (r[key] ?? 0) + by;
}

function newReport(): PairDerivationReport {
  return {
    events: { thumbs: 0, rating: 0, pairwise: 0, edit: 0 },
    pairwiseTies: 0,
    skipped: {},
    pairs: { pairwise: 0, thumbs: 0, edit: 0, rating: 0 },
    conflictedPairs: 0,
  };
}

export function preferencePairsFromPairwise(events: readonly FeedbackRow[], completions: ReadonlyMap<string, CompletionRow>, report = newReport()): PreferencePairRow[] {
  const acc = new PairAccumulator('pairwise');
  for (const e of events) {
    if (e.type !== 'pairwise') continue;
    const c = completions.get(e.completionId);
    const o = e.otherCompletionId ? completions.get(e.otherCompletionId) : undefined;
    if (!c || !o) {
      bump(report.skipped, 'pairwise: completion not found');
      continue;
    }
    if (e.value === 0) {
      report.pairwiseTies++;
      continue;
    }
    if (e.value !== 1 && e.value !== -1) {
      bump(report.skipped, 'pairwise: value not 1, -1 or 0');
      continue;
    }
    const ph = promptHashOf(c.messages);
    if (promptHashOf(o.messages) !== ph) {
      bump(report.skipped, 'pairwise: completions answer different prompts');
      continue;
    }
    if (c.response === o.response) {
      bump(report.skipped, 'pairwise: identical responses');
      continue;
    }
    const [chosen, rejected] = e.value === 1 ? [c, o] : [o, c];
    acc.vote(c.messages, ph, sideOf(chosen), sideOf(rejected), [e.id], e.createdAt);
  }
  return acc.rows();
}

export function preferencePairsFromEdits(events: readonly FeedbackRow[], completions: ReadonlyMap<string, CompletionRow>, report = newReport()): PreferencePairRow[] {
  const acc = new PairAccumulator('edit');
  for (const e of events) {
    if (e.type !== 'edit') continue;
    const c = completions.get(e.completionId);
    if (!c) {
      bump(report.skipped, 'edit: completion not found');
      continue;
    }
    if (e.editedResponse === null || e.editedResponse.trim() === c.response.trim()) {
      bump(report.skipped, 'edit: unchanged response');
      continue;
    }
    const edited: Side = { text: e.editedResponse, completionId: null, modelVersion: null };
    acc.vote(c.messages, promptHashOf(c.messages), edited, sideOf(c), [e.id], e.createdAt);
  }
  return acc.rows();
}

/** Per prompt, per distinct response: the events that scored it. */
function scoredResponses(
  events: readonly FeedbackRow[],
  type: 'thumbs' | 'rating',
  completions: ReadonlyMap<string, CompletionRow>,
  report: PairDerivationReport,
): Map<string, { prompt: ChatMessages; responses: Map<string, { side: Side; events: FeedbackRow[] }> }> {
  const byPrompt = new Map<string, { prompt: ChatMessages; responses: Map<string, { side: Side; events: FeedbackRow[] }> }>();
  for (const e of events) {
    if (e.type !== type || e.value === null) continue;
    const c = completions.get(e.completionId);
    if (!c) {
      bump(report.skipped, `${type}: completion not found`);
      continue;
    }
    const ph = promptHashOf(c.messages);
    let p = byPrompt.get(ph);
    if (!p) byPrompt.set(ph, (p = { prompt: c.messages, responses: new Map() }));
    let r = p.responses.get(c.response);
    if (!r) p.responses.set(c.response, (r = { side: sideOf(c), events: [] }));
    r.side = pickSide(r.side, sideOf(c));
    r.events.push(e);
  }
  return byPrompt;
}

function latest(events: readonly FeedbackRow[]): Date {
  let t = events[0]!.createdAt;
  for (const e of events) if (e.createdAt > t) t = e.createdAt;
  return t;
}

function topByMargin<T extends { margin: number; key: string }>(items: T[], max: number): T[] {
  return items.sort((a, b) => b.margin - a.margin || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, max);
}

export function preferencePairsFromThumbs(
  events: readonly FeedbackRow[],
  completions: ReadonlyMap<string, CompletionRow>,
  options: Partial<PairDerivationOptions> = {},
  report = newReport(),
): PreferencePairRow[] {
  const opts = { ...DEFAULT_PAIR_DERIVATION, ...options };
  const acc = new PairAccumulator('thumbs');
  for (const [ph, p] of scoredResponses(events, 'thumbs', completions, report)) {
    // a response is "up" when its net vote is positive; mixed votes are the
    // conflict evidence of every pair the response takes part in
    const scored = [...p.responses.values()].map((r) => ({
      ...r,
      net: r.events.reduce((s, e) => s + Math.sign(e.value ?? 0), 0),
      ups: r.events.filter((e) => (e.value ?? 0) > 0).map((e) => e.id),
      downs: r.events.filter((e) => (e.value ?? 0) < 0).map((e) => e.id),
    }));
    const up = scored.filter((r) => r.net > 0);
    const down = scored.filter((r) => r.net < 0);
    bump(report.skipped, 'thumbs: response with net zero votes', scored.filter((r) => r.net === 0).reduce((s, r) => s + r.events.length, 0));
    const candidates = up.flatMap((u) => down.map((d) => ({ u, d, margin: u.net - d.net, key: directedKey('', u.side.text, d.side.text) })));
    for (const { u, d } of topByMargin(candidates, opts.maxPairsPerPrompt)) {
      acc.vote(p.prompt, ph, u.side, d.side, [...u.ups, ...d.downs], latest([...u.events, ...d.events]));
      acc.conflict(ph, u.side.text, d.side.text, [...u.downs, ...d.ups]);
    }
  }
  return acc.rows();
}

export function preferencePairsFromRatings(
  events: readonly FeedbackRow[],
  completions: ReadonlyMap<string, CompletionRow>,
  options: Partial<PairDerivationOptions> = {},
  report = newReport(),
): PreferencePairRow[] {
  const opts = { ...DEFAULT_PAIR_DERIVATION, ...options };
  const acc = new PairAccumulator('rating');
  for (const [ph, p] of scoredResponses(events, 'rating', completions, report)) {
    const scored = [...p.responses.values()].map((r) => ({ ...r, mean: r.events.reduce((s, e) => s + (e.value ?? 0), 0) / r.events.length }));
    const candidates: Array<{ a: (typeof scored)[number]; b: (typeof scored)[number]; margin: number; key: string }> = [];
    for (const a of scored) {
      for (const b of scored) {
        const margin = a.mean - b.mean;
        if (a !== b && margin >= opts.minRatingMargin) candidates.push({ a, b, margin, key: directedKey('', a.side.text, b.side.text) });
      }
    }
    for (const { a, b, margin } of topByMargin(candidates, opts.maxPairsPerPrompt)) {
      // contradicting evidence: individual ratings that, compared one to one, point
      // the other way by at least the margin; every other rating of the two supports it
      const contra = new Set<string>();
      for (const ea of a.events) {
        for (const eb of b.events) {
          if ((eb.value ?? 0) - (ea.value ?? 0) >= opts.minRatingMargin) {
            contra.add(ea.id);
            contra.add(eb.id);
          }
        }
      }
      const all = [...a.events, ...b.events];
      const support = all.filter((e) => !contra.has(e.id)).map((e) => e.id);
      acc.vote(p.prompt, ph, a.side, b.side, support, latest(all), margin);
      acc.conflict(ph, a.side.text, b.side.text, contra);
    }
  }
  return acc.rows();
}

/** All four sources, sorted by id (deterministic output for a given input). */
export function derivePreferencePairs(
  events: readonly FeedbackRow[],
  completions: ReadonlyMap<string, CompletionRow>,
  options: Partial<PairDerivationOptions> = {},
): DerivedPairs {
  const report = newReport();
  for (const e of events) report.events[e.type]++;
  const pairs = [
    ...preferencePairsFromPairwise(events, completions, report),
    ...preferencePairsFromThumbs(events, completions, options, report),
    ...preferencePairsFromEdits(events, completions, report),
    ...preferencePairsFromRatings(events, completions, options, report),
  ].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const p of pairs) {
    report.pairs[p.source]++;
    if (p.conflictCount > 0) report.conflictedPairs++;
  }
  return { pairs, report };
}
