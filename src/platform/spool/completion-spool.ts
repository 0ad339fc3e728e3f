// The durable spool for completion events the bus could not take. A SQLite file
// under the data dir (better-sqlite3, WAL + synchronous=FULL: a row acknowledged
// by append() survives a crash or power loss), read back in insertion order.
// Bounded: when full, append() refuses and the caller counts the loss — a
// completion is never dropped without a metric saying so.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SpooledRecord {
  seq: number;
  key: string;
  payload: string;
}

export class CompletionSpool {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, string]>;
  private readonly selectHead: Database.Statement<[number]>;
  private readonly deleteUpTo: Database.Statement<[number]>;
  private readonly countRows: Database.Statement<[]>;
  private count: number;

  constructor(
    readonly path: string,
    readonly maxEntries: number,
  ) {
    if (maxEntries < 1) throw new Error('completion spool: maxEntries must be >= 1');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsync'd at every commit, so an appended completion is on disk
    // before append() returns (NORMAL would only sync at checkpoints).
    this.db.pragma('synchronous = FULL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS completion_spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, payload TEXT NOT NULL)',
    );
    this.insert = this.db.prepare('INSERT INTO completion_spool (key, payload) VALUES (?, ?)');
    this.selectHead = this.db.prepare('SELECT seq, key, payload FROM completion_spool ORDER BY seq LIMIT ?');
    this.deleteUpTo = this.db.prepare('DELETE FROM completion_spool WHERE seq <= ?');
    this.countRows = this.db.prepare('SELECT COUNT(*) AS n FROM completion_spool');
    this.count = (this.countRows.get() as { n: number }).n;
  }

  size(): number {
    return this.count;
  }

  /**
   * Append in one transaction. Returns how many records fit; the rest (the newest)
   * did not and must be counted as dropped by the caller.
   */
  appendAll(records: Array<{ key: string; payload: string }>): number {
    const room = Math.max(0, this.maxEntries - this.count);
    const kept = records.slice(0, room);
    if (kept.length === 0) return 0;
    this.db.transaction(() => {
      for (const r of kept) this.insert.run(r.key, r.payload);
    })();
    this.count += kept.length;
    return kept.length;
  }

  /** The oldest records, in order. */
  head(limit: number): SpooledRecord[] {
    return this.selectHead.all(limit) as SpooledRecord[];
  }

  /** Remove every record up to and including seq (after they were published). */
  removeThrough(seq: number): void {
    const r = this.deleteUpTo.run(seq);
    this.count -= r.changes;
  }

  close(): void {
    this.db.close();
  }
}
