// Loop iterations (the `loop_iterations` table) and the orchestrator's lease
// (`loop_leases`). Every iteration write is compare-and-set on its revision, so two
// writers (a stale orchestrator, an admin action) never both apply: the loser gets a
// retriable LoopIterationConflictError and re-reads.
import { In, Not } from 'typeorm';
import { TERMINAL_LOOP_STATE_NAMES, type LoopIterationRecord } from '../../../domain/loop.js';
import { LoopIterationEntity } from '../entities/loop-iteration.entity.js';
import { LoopLeaseEntity } from '../entities/loop-lease.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export class LoopIterationConflictError extends Error {
  readonly code = 'loop_iteration_conflict';
  readonly retriable = true;
  constructor(readonly iterationId: string, readonly revision: number) {
    super(`iteration ${iterationId}: changed since revision ${revision} was read; re-read and retry`);
    this.name = 'LoopIterationConflictError';
  }
}

export interface ILoopIterationRepository {
  insert(row: LoopIterationRecord): Promise<void>;
  get(id: string): Promise<LoopIterationRecord | null>;
  /** Newest first. */
  list(limit: number): Promise<LoopIterationRecord[]>;
  /** Iterations not in a terminal state (running or paused), oldest first. */
  findUnfinished(): Promise<LoopIterationRecord[]>;
  /** The newest iteration in any of these states. */
  newestIn(states: readonly string[]): Promise<LoopIterationRecord | null>;
  /** Write `next` if the stored revision is still `next.revision - 1`. */
  update(next: LoopIterationRecord): Promise<void>;
}

export class TypeOrmLoopIterationRepository extends TypeOrmScope implements ILoopIterationRepository {
  private get rows() {
    return this.manager.getRepository(LoopIterationEntity);
  }

  async insert(row: LoopIterationRecord): Promise<void> {
    await this.write((m) => m.getRepository(LoopIterationEntity).insert(row));
  }

  get(id: string): Promise<LoopIterationRecord | null> {
    return this.rows.findOneBy({ id });
  }

  list(limit: number): Promise<LoopIterationRecord[]> {
    return this.rows.find({ order: { createdAt: 'DESC', id: 'DESC' }, take: limit });
  }

  findUnfinished(): Promise<LoopIterationRecord[]> {
    return this.rows.find({ where: { state: Not(In([...TERMINAL_LOOP_STATE_NAMES])) }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  newestIn(states: readonly string[]): Promise<LoopIterationRecord | null> {
    return this.rows.findOne({ where: { state: In([...states]) as never }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  async update(next: LoopIterationRecord): Promise<void> {
    const { id, revision, ...fields } = next;
    const result = await this.write((m) =>
      m.getRepository(LoopIterationEntity).update({ id, revision: revision - 1 }, { ...fields, revision } as Partial<LoopIterationEntity>),
    );
    if ((result.affected ?? 0) !== 1) throw new LoopIterationConflictError(id, revision - 1);
  }
}

export interface LoopLease {
  owner: string | null;
  expiresAt: Date | null;
  fence: number;
  paused: boolean;
}

export interface ILoopLeaseRepository {
  /** Take or renew the lease `name` for `owner` until now + ttlMs; false while another owner holds it. */
  acquire(name: string, owner: string, ttlMs: number, now?: Date): Promise<boolean>;
  /** Give the lease up (only its owner can). */
  release(name: string, owner: string): Promise<void>;
  get(name: string): Promise<LoopLease | null>;
  setPaused(name: string, paused: boolean): Promise<void>;
}

export class TypeOrmLoopLeaseRepository extends TypeOrmScope implements ILoopLeaseRepository {
  async acquire(name: string, owner: string, ttlMs: number, now = new Date()): Promise<boolean> {
    const expiresAt = new Date(now.getTime() + ttlMs);
    return this.write(async (m) => {
      await m.createQueryBuilder().insert().into(LoopLeaseEntity).values({ name, owner: null, expiresAt: null, fence: 0, paused: false }).orIgnore().execute();
      // renew ours, or take one that is free or lapsed: one conditional UPDATE, so two
      // contenders cannot both win
      const result = await m
        .createQueryBuilder()
        .update(LoopLeaseEntity)
        .set({ owner, expiresAt, fence: () => `fence + CASE WHEN owner = :owner THEN 0 ELSE 1 END` })
        .where('name = :name AND (owner IS NULL OR owner = :owner OR expires_at < :now)', { name, owner, now })
        .execute();
      return (result.affected ?? 0) === 1;
    });
  }

  async release(name: string, owner: string): Promise<void> {
    await this.write((m) => m.getRepository(LoopLeaseEntity).update({ name, owner }, { owner: null, expiresAt: null }));
  }

  get(name: string): Promise<LoopLease | null> {
    return this.manager.getRepository(LoopLeaseEntity).findOneBy({ name });
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    await this.write(async (m) => {
      await m.createQueryBuilder().insert().into(LoopLeaseEntity).values({ name, owner: null, expiresAt: null, fence: 0, paused }).orIgnore().execute();
      await m.getRepository(LoopLeaseEntity).update({ name }, { paused });
    });
  }
}
