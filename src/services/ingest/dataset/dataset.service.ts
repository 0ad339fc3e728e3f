// The I/O shell around the pure dataset functions: reads feedback and completions
// through a TypeORM DataSource, stores derived pairs, user flags and snapshot rows,
// and writes snapshot files to the artifact store. Nest-free on purpose: the CLI
// (`outerloop snapshot`), the admin endpoint and the orchestrator all call
// `createSnapshot(dataSource, artifactStore, filters)`.
//
// Scale: a refresh reads the whole feedback log and the completions it references
// into memory and re-derives every pair (measured: ~25k events → 15k pairs in about
// 3 s of CPU). That is the honest design for the reference scenario's volumes;
// past a few million events, derivation would move to incremental, per-prompt updates.
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import { Logger } from '../../../platform/logging/logger.js';
import {
  CompletionEntity,
  DatasetSnapshotEntity,
  FeedbackEventEntity,
  PreferencePairEntity,
  UserFlagEntity,
} from '../../../platform/persistence/entities/index.js';
import { canonicalJson, contentHash, sha256Hex } from './canonical.js';
import { labellerOf, type CompletionRow, type FeedbackRow, type PreferencePairRow } from './dataset.types.js';
import { derivePreferencePairs, type PairDerivationOptions, type PairDerivationReport } from './preference-pairs.js';
import { buildSnapshot, normalizeSnapshotFilters, type SnapshotFilters, type SnapshotManifest, type SnapshotRow } from './snapshot.js';
import { applySpamDefence, type LabellerAgreement, type SpamDefenceOptions } from './spam-defence.js';
import { SerialQueue, serializeOnSqlite } from '../../../platform/persistence/sqlite-serializer.js';

/** ids per `IN (…)` and rows per upsert: under both databases' bound-parameter caps
 *  (Postgres 65,535; SQLite 32,766) at 15 columns per pair row. Upserts go in 100s:
 *  TypeORM's parameter bookkeeping grows faster than linearly with statement size. */
const IDS_PER_LOOKUP = 5000;
const ROWS_PER_UPSERT = 100;

export const FLAG_REASON_MAJORITY_DISAGREEMENT = 'majority-disagreement';

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

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function snapshotArtifactPath(id: string): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new SnapshotIntegrityError(id, '(id)', 'a snapshot id is a 64-character sha256 hex');
  return `snapshots/${id}`;
}

const refreshQueue = new SerialQueue();

export class DatasetService {
  private readonly log = new Logger('dataset');

  constructor(
    private readonly dataSource: DataSource,
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
    // One refresh at a time per data source in this process: the admin endpoint and
    // the orchestrator may both ask, and SQLite's single connection cannot nest the
    // replace transaction. (Across processes the upserts are idempotent.)
    return refreshQueue.run(this.dataSource, () => this.refreshNow());
  }

  private async refreshNow(): Promise<{ report: PairRefreshReport; pairs: PreferencePairRow[] }> {
    const events: FeedbackRow[] = await this.dataSource.getRepository(FeedbackEventEntity).find({
      select: { id: true, completionId: true, type: true, value: true, otherCompletionId: true, editedResponse: true, userId: true, apiKeyId: true, createdAt: true },
    });
    const completions = await this.loadCompletions(events.flatMap((e) => (e.otherCompletionId ? [e.completionId, e.otherCompletionId] : [e.completionId])));
    const previouslyFlagged = new Set((await this.dataSource.getRepository(UserFlagEntity).find({ select: { userId: true } })).map((f) => f.userId));

    const spam = applySpamDefence(events, completions, { ...this.options.spam, flaggedLabellers: previouslyFlagged });
    const { pairs, report } = derivePreferencePairs(spam.accepted, completions, this.options.pairs);
    const newlyFlagged = spam.labellers.filter((l) => l.flagged && !previouslyFlagged.has(l.labeller));

    let removed = 0;
    await serializeOnSqlite(this.dataSource, () =>
      this.dataSource.transaction(async (m) => {
      if (newlyFlagged.length) {
        const now = new Date();
        const flags: UserFlagEntity[] = newlyFlagged.map((l) => ({
          userId: l.labeller,
          reason: FLAG_REASON_MAJORITY_DISAGREEMENT,
          detail: { comparisons: l.comparisons, disagreements: l.disagreements, pValue: l.pValue, baselineDisagreement: spam.baselineDisagreement, threshold: spam.threshold },
          flaggedAt: now,
        }));
        await m.getRepository(UserFlagEntity).upsert(flags, ['userId']);
      }
      removed = await this.replacePairs(m, pairs);
    }),
    );
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
    const pairs = refreshed?.pairs ?? (await this.loadPairs(this.dataSource.manager));
    const { thumbs, byType, pairwiseTies } = await this.feedbackInWindow(filters.from, filters.to);
    const built = buildSnapshot({ pairs, thumbs, feedbackEventsByType: byType, pairwiseTies }, filters);
    const artifactPath = snapshotArtifactPath(built.id);

    const repo = this.dataSource.getRepository(DatasetSnapshotEntity);
    const existing = await repo.findOneBy({ id: built.id });
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
      const snapshotRow: DatasetSnapshotEntity = {
        id: built.id,
        filters: { ...built.manifest.filters },
        counts: { ...built.manifest.counts },
        sourceEventRange: built.manifest.sourceEventRange,
        artifactPath,
        sha256: built.manifestSha256,
        statistics: { ...built.manifest.statistics },
        createdAt: new Date(),
      };
      await repo
        .createQueryBuilder()
        .insert()
        .into(DatasetSnapshotEntity)
        .values(snapshotRow)
        .orIgnore() // a concurrent creator of the same snapshot wrote the same row
        .execute();
      this.log.info('dataset snapshot created', { id: built.id, train: built.manifest.counts.train, heldout: built.manifest.counts.heldout });
    }
    return { id: built.id, created: !existing, artifactPath, sha256: built.manifestSha256, manifest: built.manifest, pairRefresh };
  }

  /** A snapshot's row (filters, counts, statistics, artifact path), or null: what
   *  the admin API shows without reading the files. */
  getSnapshot(id: string): Promise<DatasetSnapshotEntity | null> {
    return this.dataSource.getRepository(DatasetSnapshotEntity).findOneBy({ id });
  }

  /** Snapshots, newest first. */
  listSnapshots(limit = 50): Promise<DatasetSnapshotEntity[]> {
    return this.dataSource.getRepository(DatasetSnapshotEntity).find({ order: { createdAt: 'DESC', id: 'ASC' }, take: limit });
  }

  private async loadCompletions(ids: readonly string[]): Promise<Map<string, CompletionRow>> {
    const out = new Map<string, CompletionRow>();
    const repo = this.dataSource.getRepository(CompletionEntity);
    for (const part of chunks([...new Set(ids)], IDS_PER_LOOKUP)) {
      const rows = await repo.find({ select: { id: true, messages: true, response: true, modelVersion: true, createdAt: true }, where: { id: In(part) } });
      for (const r of rows) out.set(r.id, r);
    }
    return out;
  }

  private loadPairs(m: EntityManager): Promise<PreferencePairRow[]> {
    return m.getRepository(PreferencePairEntity).find({
      select: {
        id: true, promptHash: true, promptMessages: true, chosenCompletionId: true, rejectedCompletionId: true, chosenText: true, rejectedText: true,
        margin: true, source: true, eventIds: true, conflictCount: true, conflictingEventIds: true, chosenModelVersion: true, rejectedModelVersion: true, createdAt: true,
      },
    });
  }

  /** Make the table equal `pairs`: write only rows that are new or changed (a
   *  refresh usually changes a few pairs out of many), delete the rest. */
  private async replacePairs(m: EntityManager, pairs: readonly PreferencePairRow[]): Promise<number> {
    const stored = new Map((await this.loadPairs(m)).map((p) => [p.id, canonicalJson({ ...p })]));
    const keep = new Set(pairs.map((p) => p.id));
    const stale = [...stored.keys()].filter((id) => !keep.has(id));
    for (const part of chunks(stale, IDS_PER_LOOKUP)) await m.getRepository(PreferencePairEntity).delete({ id: In(part) });
    const changed = pairs.filter((p) => stored.get(p.id) !== canonicalJson(p));
    const columns = m.connection.getMetadata(PreferencePairEntity).columns.map((c) => c.databaseName).filter((c) => c !== 'id');
    for (const part of chunks(changed, ROWS_PER_UPSERT)) {
      await m
        .createQueryBuilder()
        .insert()
        .into(PreferencePairEntity)
        .values(part as PreferencePairRow[])
        .orUpdate(columns, ['id'])
        // no read-back of generated/default columns: every column is written, and
        // the read-back is one OR per row, which overflows SQLite's expression depth
        .updateEntity(false)
        .execute();
    }
    return stale.length;
  }

  /** Thumbs (with the serving model version) and event counts by type in [from, to),
   *  excluding flagged labellers, for the snapshot's statistics. */
  private async feedbackInWindow(from: string | null, to: string | null) {
    const flagged = new Set((await this.dataSource.getRepository(UserFlagEntity).find({ select: { userId: true } })).map((f) => f.userId));
    const qb = this.dataSource
      .getRepository(FeedbackEventEntity)
      .createQueryBuilder('f')
      .innerJoin(CompletionEntity, 'c', 'c.id = f.completion_id')
      .select(['f.id AS id', 'f.type AS type', 'f.value AS value', 'f.user_id AS "userId"', 'f.api_key_id AS "apiKeyId"', 'c.model_version AS "modelVersion"']);
    if (from) qb.andWhere('f.created_at >= :from', { from: new Date(from) });
    if (to) qb.andWhere('f.created_at < :to', { to: new Date(to) });
    const rows: Array<{ id: string; type: string; value: number | string | null; userId: string | null; apiKeyId: string | null; modelVersion: string }> = await qb.getRawMany();
    const byType: Record<string, number> = {};
    const thumbs: Array<{ modelVersion: string; value: number }> = [];
    let pairwiseTies = 0;
    for (const r of rows) {
      const who = labellerOf(r);
      if (who !== null && flagged.has(who)) continue;
      byType[r.type] = (byType[r.type] ?? 0) + 1;
      if (r.type === 'thumbs' && r.value !== null) thumbs.push({ modelVersion: r.modelVersion, value: Number(r.value) });
      if (r.type === 'pairwise' && r.value !== null && Number(r.value) === 0) pairwiseTies++;
    }
    return { thumbs, byType, pairwiseTies };
  }
}

/** The entry point for the CLI (`outerloop snapshot`), the admin API and the orchestrator. */
export function createSnapshot(
  dataSource: DataSource,
  artifactStore: ArtifactStore,
  filters: SnapshotFilters = {},
  options: DatasetOptions & { refreshPairs?: boolean } = {},
): Promise<SnapshotResult> {
  return new DatasetService(dataSource, artifactStore, options).createSnapshot(filters, { refreshPairs: options.refreshPairs });
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
