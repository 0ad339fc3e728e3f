// Labellers flagged by the spam defence (the `user_flags` table).
import type { UserFlagRow } from '../../../domain/dataset/dataset.types.js';
import { UserFlagEntity } from '../entities/user-flag.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface IUserFlagRepository {
  /** Every flagged labeller id (`user:…` / `key:…`). */
  flaggedLabellers(): Promise<Set<string>>;
  /** Insert or replace flags by labeller. */
  upsert(flags: readonly UserFlagRow[]): Promise<void>;
  /** Clear a flag (a reviewer's decision); returns whether there was one. */
  remove(userId: string): Promise<boolean>;
}

export class TypeOrmUserFlagRepository extends TypeOrmScope implements IUserFlagRepository {
  async flaggedLabellers(): Promise<Set<string>> {
    return new Set((await this.manager.getRepository(UserFlagEntity).find({ select: { userId: true } })).map((f) => f.userId));
  }

  async upsert(flags: readonly UserFlagRow[]): Promise<void> {
    if (flags.length === 0) return;
    await this.write((m) => m.getRepository(UserFlagEntity).upsert([...flags], ['userId']));
  }

  async remove(userId: string): Promise<boolean> {
    const r = await this.write((m) => m.getRepository(UserFlagEntity).delete({ userId }));
    return (r.affected ?? 0) > 0;
  }
}
