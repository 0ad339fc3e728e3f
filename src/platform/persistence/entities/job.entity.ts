import { Entity, Index } from 'typeorm';
import type { JobKind, JobRecord, JobState } from '../../../domain/jobs.js';
import { BoolColumn, IdColumn, IdPrimaryColumn, IntColumn, JsonColumn, TextColumn, TimestampColumn, VarcharColumn, type JsonObject } from './columns.js';

/**
 * A durable job (ARCHITECTURE §3): this row is the job. `outerloop.jobs` only wakes
 * workers; whoever holds the lease (lease_owner, until lease_expires_at, renewed by
 * heartbeats) runs it, and a lease that lapses lets another worker take it over.
 * The lease is fenced by (lease_owner, attempts): every write of a running job's
 * outcome is conditional on both, so a worker that lost its lease writes nothing.
 */
@Entity({ name: 'jobs' })
@Index('uq_jobs_idempotency_key', ['idempotencyKey'], { unique: true })
@Index('idx_jobs_state_run_after', ['state', 'runAfter'])
@Index('idx_jobs_state_lease', ['state', 'leaseExpiresAt'])
export class JobEntity implements JobRecord {
  @IdPrimaryColumn()
  id!: string;

  @VarcharColumn('kind', 40)
  kind!: JobKind;

  /** the kind's parameters, validated by JobSpecSchema (src/platform/messaging/events.ts) */
  @JsonColumn('params')
  params!: JsonObject;

  /** e.g. `<iteration>:<step>`: enqueueing the same key again returns this row */
  @IdColumn('idempotency_key', { nullable: true })
  idempotencyKey!: string | null;

  @VarcharColumn('state', 16)
  state!: JobState;

  /** claims so far; the current attempt's number while running */
  @IntColumn('attempts', { default: 0 })
  attempts!: number;

  @IntColumn('max_attempts')
  maxAttempts!: number;

  /** not claimed before this instant (retry backoff) */
  @TimestampColumn('run_after')
  runAfter!: Date;

  @IdColumn('lease_owner', { nullable: true })
  leaseOwner!: string | null;

  @TimestampColumn('heartbeat_at', { nullable: true })
  heartbeatAt!: Date | null;

  @TimestampColumn('lease_expires_at', { nullable: true })
  leaseExpiresAt!: Date | null;

  /** the last progress report (JobProgressSchema) */
  @JsonColumn('progress', { nullable: true })
  progress!: JsonObject | null;

  @JsonColumn('result', { nullable: true })
  result!: JsonObject | null;

  /** the last failed attempt's error; kept on record when a later attempt succeeds */
  @TextColumn('error', { nullable: true })
  error!: string | null;

  @BoolColumn('cancel_requested', { default: false })
  cancelRequested!: boolean;

  @TimestampColumn('created_at')
  createdAt!: Date;

  @TimestampColumn('updated_at')
  updatedAt!: Date;

  @TimestampColumn('started_at', { nullable: true })
  startedAt!: Date | null;

  @TimestampColumn('finished_at', { nullable: true })
  finishedAt!: Date | null;
}
