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
import { sha256Hex } from '../../../domain/dataset/canonical.js';
import { type DatasetSnapshotRecord, type PreferencePairRow, type UserFlagRow } from '../../../domain/dataset/dataset.types.js';
import { derivePreferencePairs, type PairDerivationOptions, type PairDerivationReport } from '../../../domain/dataset/preference-pairs.js';
import {
  buildSnapshot,
  normalizeSnapshotFilters,
  parseSnapshotManifest,
  parseSnapshotRows,
  snapshotArtifactPath,
  SnapshotIntegrityError,
  type SnapshotFilters,
  type SnapshotManifest,
  type SnapshotRow,
} from '../../../domain/dataset/snapshot.js';
import { applySpamDefence, type LabellerAgreement, type SpamDefenceOptions } from '../../../domain/dataset/spam-defence.js';
import { summarizeWindowFeedback } from '../../../domain/dataset/statistics.js';
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

  /**
   * How many preference pairs the next snapshot would add to the newest one: the pairs
   * (re-derived now, so the table is current) whose supporting feedback is at or after
   * the newest snapshot's window end (its `to`, else the time it was made) — every pair
   * when there is no snapshot. The orchestrator's data-readiness trigger reads it. No
   * new feedback since then means no new pair, and the derivation is skipped.
   */
  async newPairsSinceNewestSnapshot(): Promise<number> {
    const [newest] = await this.repositories.datasetSnapshots.list(1);
    const since = newest ? new Date(typeof newest.filters.to === 'string' ? newest.filters.to : newest.createdAt.toISOString()) : null;
    if (since && (await this.repositories.feedback.findInWindow(since, null)).length === 0) return 0;
    const { pairs } = await this.refresh();
    return since ? pairs.filter((p) => p.createdAt.getTime() >= since.getTime()).length : pairs.length;
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
    const { thumbs, byType, pairwiseTies } = summarizeWindowFeedback(
      await this.repositories.feedback.findInWindow(filters.from ? new Date(filters.from) : null, filters.to ? new Date(filters.to) : null),
      await this.repositories.userFlags.flaggedLabellers(),
    );
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
  const manifest = parseSnapshotManifest(id, await artifactStore.get(`${base}/manifest.json`));
  const read = async (name: 'train.jsonl' | 'heldout.jsonl') => parseSnapshotRows(manifest, name, await artifactStore.get(`${base}/${name}`));
  return { manifest, train: await read('train.jsonl'), heldout: await read('heldout.jsonl') };
}
