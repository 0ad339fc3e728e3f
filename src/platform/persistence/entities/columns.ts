// Column helpers shared by every entity, chosen so one entity definition runs on
// both better-sqlite3 (embedded mode) and PostgreSQL (distributed mode):
// - timestamps are declared with `type: Date`, which TypeORM maps to `datetime` on
//   SQLite (stored as a UTC 'YYYY-MM-DD HH:MM:SS.SSS' string) and to a timestamp on
//   Postgres; the migration creates `timestamptz` there so the instant never depends
//   on the server's time zone.
// - JSON is `simple-json` (text on both): Postgres jsonb would be nicer to query, but
//   nothing queries inside these documents, and one representation keeps the
//   contract tests identical on both databases.
// - ids are application-generated strings (event ids, content hashes, uuids), never
//   database sequences, so an upsert keyed by id is idempotent across retries.
import { Column, PrimaryColumn, type ColumnOptions } from 'typeorm';

export const ID_LENGTH = 200;

export function IdPrimaryColumn(name = 'id'): PropertyDecorator {
  return PrimaryColumn({ name, type: 'varchar', length: ID_LENGTH });
}

export function IdColumn(name: string, opts: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ name, type: 'varchar', length: ID_LENGTH, nullable: opts.nullable ?? false });
}

export function TimestampColumn(name: string, opts: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ name, type: Date, nullable: opts.nullable ?? false });
}

export function JsonColumn(name: string, opts: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ name, type: 'simple-json', nullable: opts.nullable ?? false });
}

export function TextColumn(name: string, opts: Omit<ColumnOptions, 'name' | 'type'> = {}): PropertyDecorator {
  return Column({ ...opts, name, type: 'text' });
}

export function VarcharColumn(name: string, length: number, opts: Omit<ColumnOptions, 'name' | 'type' | 'length'> = {}): PropertyDecorator {
  return Column({ ...opts, name, type: 'varchar', length });
}

export function IntColumn(name: string, opts: Omit<ColumnOptions, 'name' | 'type'> = {}): PropertyDecorator {
  return Column({ ...opts, name, type: 'integer' });
}

export function FloatColumn(name: string, opts: Omit<ColumnOptions, 'name' | 'type'> = {}): PropertyDecorator {
  return Column({ ...opts, name, type: 'double precision' });
}

export function BoolColumn(name: string, opts: Omit<ColumnOptions, 'name' | 'type'> = {}): PropertyDecorator {
  return Column({ ...opts, name, type: 'boolean' });
}

export type { JsonObject } from '../../../domain/json.js';
