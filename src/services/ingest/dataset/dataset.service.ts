// The I/O shell around the pure dataset functions (src/domain/dataset): reads
// feedback and completions through the repositories, stores derived pairs, user
// flags and snapshot rows, and writes snapshot files to the artifact store.
// Nest-free on purpose: the CLI (`outerloop snapshot`), the admin endpoint and the
// orchestrator all call `createSnapshot(repositories, artifactStore, filters)`.
//
// Scale: a refresh reads the whole feedback log and the completions it references
// into memory and re-derives every pair (measured: ~25k events → 15k pairs in about
// 3 s of CPU). That is the honest design for the reference scenario's volumes;
// past a few million events, derivation would move to incremental, per-prompt updates.
import { contentHash, sha256Hex } from '../../../domain/dataset/canonical.js';
import { labellerOf, type DatasetSnapshotRecord, type PreferencePairRow, type UserFlagRow } from '../../../domain/dataset/dataset.types.js';
import { derivePreferencePairs, type PairDerivationOptions, type PairDerivationReport } from '../../../domain/dataset/preference-pairs.js';
import { buildSnapshot, normalizeSnapshotFilters, type SnapshotFilters, type SnapshotManifest, type SnapshotRow } from '../../../domain/dataset/snapshot.js';
import { applySpamDefence, type LabellerAgreement, type SpamDefenceOptions } from '../../../domain/dataset/spam-defence.js';
import { FLAG_REASON_MAJORITY_DISAGREEMENT } from '../../../domain/feedback.js';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import { Logger } from '../../../platform/logging/logger.js';
import type { Repositories } from '../../../platform/persistence/repositories/index.js';

/** The repositories dataset building reads and writes. */
export type DatasetRepositories = Pick<Repositories, 'completions' | 'feedback' | 'preferencePairs' | 'userFlags' | 'datasetSnapshots' | 'transactions'>;

export interface DatasetOptions {
  pairs?: Partial<PairDerivationOptions>;
  spam?: Partial<Omit<SpamDefenceOptions, 'flaggedLabellers'>>;
}

export interface PairRefreshReport {
  derivation: PairDerivationReport;
  pairs: number;
  removedStalePairs: number;
  cappedEvents: number;
  flaggedEvents: number;
  newlyFlaggedLabellers: LabellerAgreement[];
  baselineDisagreement: number;
}

export interface SnapshotResult {
  id: string;
  /** false when an identical snapshot already existed (same id: nothing rewritten) */
  created: boolean;
  artifactPath: string;
  sha256: string;
  manifest: SnapshotManifest;
  pairRefresh: PairRefreshReport | null;
}

export class SnapshotIntegrityError extends Error {
  readonly retriable = false;
  constructor(snapshotId: string, file: string, reason: string) {
    super(`snapshot ${snapshotId}: ${file}: ${reason}`);
    this.name = 'SnapshotIntegrityError';
  }
}

export function snapshotArtifactPath(id: string): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new SnapshotIntegrityError(id, '(id)', 'a snapshot id is a 64-character sha256 hex');
  return `snapshots/${id}`;
}

/**
 * One refresh at a time per set of repositories in this process: the admin endpoint
 * and the orchestrator may both ask, and two interleaved refreshes would each make
 * the pairs table equal their own derivation. (Across processes the upserts are
 * idempotent.)
 */
const refreshTails = new WeakMap<object, Promise<unknown>>();

function oneAtATime<T>(key: object, work: () => Promise<T>): Promise<T> {
  const result = (refreshTails.get(key) ?? Promise.resolve()).then(work);
  refreshTails.set(key, result.catch(() => undefined));
  return result;
}

export class DatasetService {
  private readonly log = new Logger('dataset');

  constructor(
    private readonly repositories: DatasetRepositories,
    private readonly artifacts: ArtifactStore,
    private readonly options: DatasetOptions = {},
  ) {}

  /**
   * Re-derive every preference pair from the feedback log: spam defence first (daily
   * caps, majority-disagreement flags, previously flagged labellers), then the four
   * sources. Pairs are derived data, so the table is made to equal the derivation:
   * new pairs upserted by their content id, pairs no longer supported removed.
   */
  async refreshPreferencePairs(): Promise<PairRefreshReport> {
    return (await this.refresh()).report;
  }

  private refresh(): Promise<{ report: PairRefreshReport; pairs: PreferencePairRow[] }> {
    return oneAtATime(this.repositories.preferencePairs, () => this.refreshNow());
  }

  private async refreshNow(): Promise<{ report: PairRefreshReport; pairs: PreferencePairRow[] }> {
    const { completions, feedback, userFlags, transactions } = this.repositories;
    const events = await feedback.findAllForDerivation();
    const completionRows = await completions.findForDataset(events.flatMap((e) => (e.otherCompletionId ? [e.completionId, e.otherCompletionId] : [e.completionId])));
    const previouslyFlagged = await userFlags.flaggedLabellers();

    const spam = applySpamDefence(events, completionRows, { ...this.options.spam, flaggedLabellers: previouslyFlagged });
    const { pairs, report } = derivePreferencePairs(spam.accepted, completionRows, this.options.pairs);
    const newlyFlagged = spam.labellers.filter((l) => l.flagged && !previouslyFlagged.has(l.labeller));

    const now = new Date();
    const flags: UserFlagRow[] = newlyFlagged.map((l) => ({
      userId: l.labeller,
      reason: FLAG_REASON_MAJORITY_DISAGREEMENT,
      detail: { comparisons: l.comparisons, disagreements: l.disagreements, pValue: l.pValue, baselineDisagreement: spam.baselineDisagreement, threshold: spam.threshold },
      flaggedAt: now,
    }));
    // the flags and the pairs they shaped are stored together or not at all
    const removed = await transactions.run(async (tx) => {
      await tx.userFlags.upsert(flags);
      return tx.preferencePairs.replaceAll(pairs);
    });
    for (const l of newlyFlagged) {
      this.log.warn('labeller flagged: disagrees with the majority beyond chance', { labeller: l.labeller, comparisons: l.comparisons, disagreements: l.disagreements, pValue: l.pValue });
    }
    const result: PairRefreshReport = {
      derivation: report,
      pairs: pairs.length,
      removedStalePairs: removed,
      cappedEvents: spam.cappedEventIds.length,
      flaggedEvents: spam.flaggedEventIds.length,
      newlyFlaggedLabellers: newlyFlagged,
      baselineDisagreement: spam.baselineDisagreement,
    };
    this.log.info('preference pairs refreshed', { pairs: result.pairs, removed, capped: result.cappedEvents, flaggedEvents: result.flaggedEvents, ties: report.pairwiseTies, conflicted: report.conflictedPairs });
    return { report: result, pairs };
  }

  /**
   * Freeze the current preference pairs into a content-addressed snapshot. Files are
   * written before the row (manifest.json last), so a row always points at complete
   * files; creating the same snapshot again is a no-op that returns the same id.
   */
  async createSnapshot(filterInput: SnapshotFilters = {}, opts: { refreshPairs?: boolean } = {}): Promise<SnapshotResult> {
    const filters = normalizeSnapshotFilters(filterInput); // bad filters fail before any I/O
    // after a refresh the table equals the derivation just made: use it, don't re-read
    const refreshed = opts.refreshPairs === false ? null : await this.refresh();
    const pairRefresh = refreshed?.report ?? null;
    const pairs = refreshed?.pairs ?? (await this.repositories.preferencePairs.findAll());
    const { thumbs, byType, pairwiseTies } = await this.feedbackInWindow(filters.from, filters.to);
    const built = buildSnapshot({ pairs, thumbs, feedbackEventsByType: byType, pairwiseTies }, filters);
    const artifactPath = snapshotArtifactPath(built.id);

    const snapshots = this.repositories.datasetSnapshots;
    const existing = await snapshots.findById(built.id);
    // (re)write files unless they are already there byte-for-byte — also repairs a
    // snapshot whose files were lost from the artifact volume
    for (const name of ['train.jsonl', 'heldout.jsonl', 'manifest.json'] as const) {
      const rel = `${artifactPath}/${name}`;
      const want = built.files[name];
      if (await this.artifacts.exists(rel)) {
        const have = await this.artifacts.get(rel);
        if (sha256Hex(have) === sha256Hex(want)) continue;
        if (existing) throw new SnapshotIntegrityError(built.id, name, 'stored file differs from the snapshot it belongs to (artifact volume tampered with?)');
      }
      await this.artifacts.put(rel, want);
    }
    if (!existing) {
      const snapshotRow: DatasetSnapshotRecord = {
        id: built.id,
        filters: { ...built.manifest.filters },
        counts: { ...built.manifest.counts },
        sourceEventRange: built.manifest.sourceEventRange,
        artifactPath,
        sha256: built.manifestSha256,
        statistics: { ...built.manifest.statistics },
        createdAt: new Date(),
      };
      await snapshots.insertIfAbsent(snapshotRow); // a concurrent creator of the same snapshot writes the same row
      this.log.info('dataset snapshot created', { id: built.id, train: built.manifest.counts.train, heldout: built.manifest.counts.heldout });
    }
    return { id: built.id, created: !existing, artifactPath, sha256: built.manifestSha256, manifest: built.manifest, pairRefresh };
  }

  /** A snapshot's row (filters, counts, statistics, artifact path), or null: what
   *  the admin API shows without reading the files. */
  getSnapshot(id: string): Promise<DatasetSnapshotRecord | null> {
    return this.repositories.datasetSnapshots.findById(id);
  }

  /** Snapshots, newest first. */
  listSnapshots(limit = 50): Promise<DatasetSnapshotRecord[]> {
    return this.repositories.datasetSnapshots.list(limit);
  }

  /** Thumbs (with the serving model version) and event counts by type in [from, to),
   *  excluding flagged labellers, for the snapshot's statistics. */
  private async feedbackInWindow(from: string | null, to: string | null) {
    const flagged = await this.repositories.userFlags.flaggedLabellers();
    const rows = await this.repositories.feedback.findInWindow(from ? new Date(from) : null, to ? new Date(to) : null);
    const byType: Record<string, number> = {};
    const thumbs: Array<{ modelVersion: string; value: number }> = [];
    let pairwiseTies = 0;
    for (const r of rows) {
      const who = labellerOf(r);
      if (who !== null && flagged.has(who)) continue;
      byType[r.type] = (byType[r.type] ?? 0) + 1;
      if (r.type === 'thumbs' && r.value !== null) thumbs.push({ modelVersion: r.modelVersion, value: r.value });
      if (r.type === 'pairwise' && r.value === 0) pairwiseTies++;
    }
    return { thumbs, byType, pairwiseTies };
  }
}

/** The entry point for the CLI (`outerloop snapshot`), the admin API and the orchestrator. */
export function createSnapshot(
  repositories: DatasetRepositories,
  artifactStore: ArtifactStore,
  filters: SnapshotFilters = {},
  options: DatasetOptions & { refreshPairs?: boolean } = {},
): Promise<SnapshotResult> {
  return new DatasetService(repositories, artifactStore, options).createSnapshot(filters, { refreshPairs: options.refreshPairs });
}

export interface LoadedSnapshot {
  manifest: SnapshotManifest;
  train: SnapshotRow[];
  heldout: SnapshotRow[];
}

/** Read a snapshot back for training/evaluation, verifying every file against the
 *  manifest's sha256 and the manifest against its id. */
export async function readSnapshot(artifactStore: ArtifactStore, id: string): Promise<LoadedSnapshot> {
  const base = snapshotArtifactPath(id);
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse((await artifactStore.get(`${base}/manifest.json`)).toString('utf8')) as SnapshotManifest;
  } catch (err) {
    if (err instanceof SyntaxError) throw new SnapshotIntegrityError(id, 'manifest.json', `not JSON: ${err.message}`);
    throw err;
  }
  if (manifest.id !== id) throw new SnapshotIntegrityError(id, 'manifest.json', `names snapshot ${manifest.id}`);
  const body: Partial<SnapshotManifest> = { ...manifest };
  delete body.id;
  if (contentHash(body) !== id) throw new SnapshotIntegrityError(id, 'manifest.json', 'content does not hash to the snapshot id');
  const read = async (name: 'train.jsonl' | 'heldout.jsonl'): Promise<SnapshotRow[]> => {
    const bytes = await artifactStore.get(`${base}/${name}`);
    const want = manifest.files[name];
    if (sha256Hex(bytes) !== want.sha256) throw new SnapshotIntegrityError(id, name, `sha256 mismatch (expected ${want.sha256})`);
    const text = bytes.toString('utf8');
    return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as SnapshotRow);
  };
  return { manifest, train: await read('train.jsonl'), heldout: await read('heldout.jsonl') };
}
