// Dataset snapshots (issue 6 part 4): freeze preference pairs into an immutable,
// content-addressed dataset. Pure: rows in, bytes out. The same pairs and filters
// always give the same id and the same bytes (canonical JSON, rows sorted by id, no
// wall-clock time inside), so "retrain from snapshot X" means exactly one dataset.
import type { PreferenceSource } from '../feedback.js';
import { canonicalJson, contentHash, hashToUnitInterval, sha256Hex } from './canonical.js';
import type { PreferencePairRow, SnapshotEventRange } from './dataset.types.js';
import { datasetStatistics, type DatasetStatistics, type ThumbsObservation } from './statistics.js';

export const SNAPSHOT_FORMAT = 'outerloop.preference-snapshot/v1';
const ALL_SOURCES: PreferenceSource[] = ['edit', 'pairwise', 'rating', 'thumbs'];
/** which source represents a pair found by several (explicit choices first) */
const SOURCE_PRIORITY: Record<PreferenceSource, number> = { pairwise: 0, edit: 1, rating: 2, thumbs: 3 };

export type ConflictPolicy = 'majority' | 'exclude' | 'all';

export interface SnapshotFilters {
  /** pairs whose latest supporting event is at or after this instant (ISO 8601) */
  from?: string | null;
  /** … and strictly before this one */
  to?: string | null;
  /** minimum pair margin (rating difference; 1 for binary sources) */
  minMargin?: number;
  sources?: PreferenceSource[];
  /** majority: keep a direction only with strictly more support than contradiction;
   *  exclude: drop any pair some event contradicts; all: keep both directions */
  conflicts?: ConflictPolicy;
  /** merge the same (prompt, chosen, rejected) found by several sources */
  dedupe?: boolean;
  /** fraction of prompts held out (default 0.1) */
  heldoutFraction?: number;
  /** salt of the split hash: changing it draws a different (still stable) split */
  splitSalt?: string;
}

export type NormalizedSnapshotFilters = Required<SnapshotFilters>;

export class SnapshotFilterError extends Error {
  readonly retriable = false;
  constructor(field: string, reason: string) {
    super(`snapshot filter ${field}: ${reason}`);
    this.name = 'SnapshotFilterError';
  }
}

/** Defaults filled in and values validated, so equivalent requests hash alike. */
export function normalizeSnapshotFilters(f: SnapshotFilters = {}): NormalizedSnapshotFilters {
  const time = (field: string, v: string | null | undefined): string | null => {
    if (v === undefined || v === null || v === '') return null;
    const t = new Date(v);
    if (Number.isNaN(t.getTime())) throw new SnapshotFilterError(field, `not an ISO 8601 time: ${JSON.stringify(v)}`);
    return t.toISOString();
  };
  const from = time('from', f.from);
  const to = time('to', f.to);
  if (from && to && from >= to) throw new SnapshotFilterError('to', `must be after from (${from})`);
  const minMargin = f.minMargin ?? 0;
  if (!Number.isFinite(minMargin) || minMargin < 0) throw new SnapshotFilterError('minMargin', `must be a number ≥ 0, got ${minMargin}`);
  const sources = [...new Set(f.sources ?? ALL_SOURCES)].sort();
  for (const s of sources) if (!ALL_SOURCES.includes(s)) throw new SnapshotFilterError('sources', `unknown source ${JSON.stringify(s)} (known: ${ALL_SOURCES.join(', ')})`);
  if (sources.length === 0) throw new SnapshotFilterError('sources', 'at least one source is required');
  const conflicts = f.conflicts ?? 'majority';
  if (!['majority', 'exclude', 'all'].includes(conflicts)) throw new SnapshotFilterError('conflicts', `must be majority, exclude or all, got ${JSON.stringify(conflicts)}`);
  const heldoutFraction = f.heldoutFraction ?? 0.1;
  if (!(heldoutFraction >= 0 && heldoutFraction < 1)) throw new SnapshotFilterError('heldoutFraction', `must be in [0, 1), got ${heldoutFraction}`);
  return { from, to, minMargin, sources, conflicts, dedupe: f.dedupe ?? true, heldoutFraction, splitSalt: f.splitSalt ?? 'outerloop-split-v1' };
}

/** One line of train.jsonl / heldout.jsonl. */
export interface SnapshotRow {
  id: string;
  promptHash: string;
  prompt: PreferencePairRow['promptMessages'];
  chosen: string;
  rejected: string;
  margin: number;
  source: PreferenceSource;
  /** every source that produced this pair (after dedupe) */
  sources: PreferenceSource[];
  eventIds: string[];
  conflictCount: number;
  chosenCompletionId: string | null;
  rejectedCompletionId: string | null;
  chosenModelVersion: string | null;
  rejectedModelVersion: string | null;
  createdAt: string;
}

export interface SnapshotManifest {
  format: typeof SNAPSHOT_FORMAT;
  id: string;
  filters: NormalizedSnapshotFilters;
  counts: {
    total: number;
    train: number;
    heldout: number;
    prompts: { train: number; heldout: number };
    bySource: Record<PreferenceSource, number>;
    /** pairs dropped by each filter, in the order the filters apply */
    excluded: { source: number; window: number; margin: number; duplicates: number; conflicts: number };
  };
  sourceEventRange: SnapshotEventRange;
  files: Record<'train.jsonl' | 'heldout.jsonl', { sha256: string; bytes: number; rows: number }>;
  statistics: DatasetStatistics;
}

export interface BuiltSnapshot {
  id: string;
  manifest: SnapshotManifest;
  /** the exact bytes to store, by file name */
  files: { 'train.jsonl': string; 'heldout.jsonl': string; 'manifest.json': string };
  /** sha256 of manifest.json */
  manifestSha256: string;
  train: SnapshotRow[];
  heldout: SnapshotRow[];
}

export interface SnapshotInputs {
  pairs: readonly PreferencePairRow[];
  /** thumbs in the same window, for the per-version thumbs-up rate */
  thumbs?: readonly ThumbsObservation[];
  /** feedback events by type in the window */
  feedbackEventsByType?: Record<string, number>;
  /** pairwise ties in the window */
  pairwiseTies?: number;
}

/** Whether a prompt goes to the held-out split: decided by the prompt's hash alone,
 *  so every pair of one prompt lands on the same side and the split never changes
 *  when pairs are added. */
export function isHeldOut(promptHash: string, filters: Pick<NormalizedSnapshotFilters, 'heldoutFraction' | 'splitSalt'>): boolean {
  return hashToUnitInterval(`${filters.splitSalt}:${promptHash}`) < filters.heldoutFraction;
}

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function directionKey(promptHash: string, chosen: string, rejected: string): string {
  return JSON.stringify([promptHash, chosen, rejected]);
}

export function buildSnapshot(inputs: SnapshotInputs, filterInput: SnapshotFilters = {}): BuiltSnapshot {
  const filters = normalizeSnapshotFilters(filterInput);
  const excluded = { source: 0, window: 0, margin: 0, duplicates: 0, conflicts: 0 };

  // 1. source, window, margin
  const selected: SnapshotRow[] = [];
  for (const p of [...inputs.pairs].sort(byId)) {
    if (!filters.sources.includes(p.source)) {
      excluded.source++;
      continue;
    }
    const at = p.createdAt.toISOString();
    if ((filters.from && at < filters.from) || (filters.to && at >= filters.to)) {
      excluded.window++;
      continue;
    }
    if (p.margin < filters.minMargin) {
      excluded.margin++;
      continue;
    }
    selected.push({
      id: p.id,
      promptHash: p.promptHash,
      prompt: p.promptMessages.map((m) => ({ role: m.role, content: m.content })),
      chosen: p.chosenText,
      rejected: p.rejectedText,
      margin: p.margin,
      source: p.source,
      sources: [p.source],
      eventIds: [...p.eventIds].sort(),
      conflictCount: p.conflictCount,
      chosenCompletionId: p.chosenCompletionId,
      rejectedCompletionId: p.rejectedCompletionId,
      chosenModelVersion: p.chosenModelVersion,
      rejectedModelVersion: p.rejectedModelVersion,
      createdAt: p.createdAt.toISOString(),
    });
  }

  // 2. dedupe across sources: one row per (prompt, chosen, rejected), evidence merged
  let rows = selected;
  if (filters.dedupe) {
    const merged = new Map<string, { row: SnapshotRow; conflicting: Set<string> }>();
    const conflictingOf = new Map(inputs.pairs.map((p) => [p.id, p.conflictingEventIds]));
    for (const r of selected) {
      const key = directionKey(r.promptHash, r.chosen, r.rejected);
      const have = merged.get(key);
      if (!have) {
        merged.set(key, { row: r, conflicting: new Set(conflictingOf.get(r.id) ?? []) });
        continue;
      }
      excluded.duplicates++;
      const [keep, drop] = SOURCE_PRIORITY[r.source] < SOURCE_PRIORITY[have.row.source] ? [r, have.row] : [have.row, r];
      keep.eventIds = [...new Set([...keep.eventIds, ...drop.eventIds])].sort();
      keep.sources = [...new Set([...keep.sources, ...drop.sources])].sort();
      keep.margin = Math.max(keep.margin, drop.margin);
      if (drop.createdAt > keep.createdAt) keep.createdAt = drop.createdAt;
      for (const id of conflictingOf.get(r.id) ?? []) have.conflicting.add(id);
      have.row = keep;
    }
    rows = [...merged.values()].map(({ row, conflicting }) => {
      for (const id of row.eventIds) conflicting.delete(id);
      return { ...row, conflictCount: conflicting.size };
    });
  }

  // 3. conflicts: within a row (conflictCount) and across rows (both directions present)
  if (filters.conflicts !== 'all') {
    const support = new Map<string, number>();
    for (const r of rows) {
      const key = directionKey(r.promptHash, r.chosen, r.rejected);
      support.set(key, (support.get(key) ?? 0) + r.eventIds.length);
    }
    rows = rows.filter((r) => {
      const reverse = support.get(directionKey(r.promptHash, r.rejected, r.chosen)) ?? 0;
      const own = r.eventIds.length;
      const keep = filters.conflicts === 'exclude' ? r.conflictCount === 0 && reverse === 0 : own > Math.max(r.conflictCount, reverse);
      if (!keep) excluded.conflicts++;
      return keep;
    });
  }

  rows.sort(byId);
  const train: SnapshotRow[] = [];
  const heldout: SnapshotRow[] = [];
  for (const r of rows) (isHeldOut(r.promptHash, filters) ? heldout : train).push(r);

  const jsonl = (rs: SnapshotRow[]) => rs.map((r) => canonicalJson(r) + '\n').join('');
  const trainBytes = jsonl(train);
  const heldoutBytes = jsonl(heldout);

  const eventIds = [...new Set(rows.flatMap((r) => r.eventIds))].sort();
  const times = rows.map((r) => r.createdAt).sort();
  const bySource: Record<PreferenceSource, number> = { pairwise: 0, thumbs: 0, edit: 0, rating: 0 };
  for (const r of rows) bySource[r.source]++;

  const body: Omit<SnapshotManifest, 'id'> = {
    format: SNAPSHOT_FORMAT,
    filters,
    counts: {
      total: rows.length,
      train: train.length,
      heldout: heldout.length,
      prompts: { train: new Set(train.map((r) => r.promptHash)).size, heldout: new Set(heldout.map((r) => r.promptHash)).size },
      bySource,
      excluded,
    },
    sourceEventRange: {
      minEventId: eventIds[0] ?? null,
      maxEventId: eventIds[eventIds.length - 1] ?? null,
      eventCount: eventIds.length,
      from: times[0] ?? null,
      to: times[times.length - 1] ?? null,
    },
    files: {
      'train.jsonl': { sha256: sha256Hex(trainBytes), bytes: Buffer.byteLength(trainBytes), rows: train.length },
      'heldout.jsonl': { sha256: sha256Hex(heldoutBytes), bytes: Buffer.byteLength(heldoutBytes), rows: heldout.length },
    },
    statistics: datasetStatistics(
      rows.map((r) => ({ source: r.source, chosenText: r.chosen, rejectedText: r.rejected, eventIds: r.eventIds, conflictCount: r.conflictCount })),
      inputs.thumbs ?? [],
      inputs.feedbackEventsByType ?? {},
      inputs.pairwiseTies ?? 0,
    ),
  };
  // id = hash of everything the manifest says, which includes each file's sha256
  const id = contentHash(body);
  const manifest: SnapshotManifest = { ...body, id };
  const manifestBytes = canonicalJson(manifest) + '\n';
  return {
    id,
    manifest,
    files: { 'train.jsonl': trainBytes, 'heldout.jsonl': heldoutBytes, 'manifest.json': manifestBytes },
    manifestSha256: sha256Hex(manifestBytes),
    train,
    heldout,
  };
}

/** A snapshot's files do not match its id or manifest. Not retriable: the bytes are wrong. */
export class SnapshotIntegrityError extends Error {
  readonly code = 'snapshot_integrity';
  readonly retriable = false;
  constructor(snapshotId: string, file: string, reason: string) {
    super(`snapshot ${snapshotId}: ${file}: ${reason}`);
    this.name = 'SnapshotIntegrityError';
  }
}

/** Where a snapshot's files live in the artifact store. */
export function snapshotArtifactPath(id: string): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new SnapshotIntegrityError(id, '(id)', 'a snapshot id is a 64-character sha256 hex');
  return `snapshots/${id}`;
}

const utf8 = new TextDecoder('utf-8');

/** Parse manifest.json and check it against the snapshot id: it names the id, and its content hashes to it. */
export function parseSnapshotManifest(id: string, bytes: Uint8Array): SnapshotManifest {
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse(utf8.decode(bytes)) as SnapshotManifest;
  } catch (err) {
    if (err instanceof SyntaxError) throw new SnapshotIntegrityError(id, 'manifest.json', `not JSON: ${err.message}`);
    throw err;
  }
  if (manifest.id !== id) throw new SnapshotIntegrityError(id, 'manifest.json', `names snapshot ${manifest.id}`);
  const body: Partial<SnapshotManifest> = { ...manifest };
  delete body.id;
  if (contentHash(body) !== id) throw new SnapshotIntegrityError(id, 'manifest.json', 'content does not hash to the snapshot id');
  return manifest;
}

/** Parse a split's JSONL after checking its bytes against the manifest's sha256. */
export function parseSnapshotRows(manifest: SnapshotManifest, name: 'train.jsonl' | 'heldout.jsonl', bytes: Uint8Array): SnapshotRow[] {
  const want = manifest.files[name];
  if (sha256Hex(bytes) !== want.sha256) throw new SnapshotIntegrityError(manifest.id, name, `sha256 mismatch (expected ${want.sha256})`);
  const text = utf8.decode(bytes);
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as SnapshotRow);
}
