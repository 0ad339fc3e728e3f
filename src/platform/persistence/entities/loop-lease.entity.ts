import { Entity } from 'typeorm';
import { BoolColumn, IntColumn, TimestampColumn, VarcharColumn } from './columns.js';

/**
 * The orchestrator's lease (one row per loop, name `loop`): the owner runs the loop
 * until `expires_at`, renewing it; a successor takes it once it lapses. `fence` is
 * bumped on every take-over, so a stale owner's writes can be told apart. `paused`
 * is the loop's switch (no trigger starts an iteration while it is set).
 */
@Entity({ name: 'loop_leases' })
export class LoopLeaseEntity {
  @VarcharColumn('name', 100, { primary: true })
  name!: string;

  @VarcharColumn('owner', 200, { nullable: true })
  owner!: string | null;

  @TimestampColumn('expires_at', { nullable: true })
  expiresAt!: Date | null;

  @IntColumn('fence', { default: 0 })
  fence!: number;

  @BoolColumn('paused', { default: false })
  paused!: boolean;
}
