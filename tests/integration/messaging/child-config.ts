// What the contract test hands to consumer-child.ts (env OUTERLOOP_TEST_CHILD, JSON).
export type ChildBusConfig =
  | { adapter: 'kafka'; brokers: string[] }
  | { adapter: 'embedded'; database: { type: 'better-sqlite3'; path: string } | { type: 'postgres'; url: string } };

export interface ChildConfig {
  bus: ChildBusConfig;
  topicPrefix: string;
  groupId: string;
  /** SQLite file with the table `handled (event_id PRIMARY KEY, deliveries)` */
  sinkPath: string;
  maxBatchSize: number;
}

export const SINK_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY, deliveries INTEGER NOT NULL)';
