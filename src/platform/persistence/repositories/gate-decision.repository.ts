// Gate decisions (the `gate_decisions` table): each policy's verdict on a candidate,
// with every rule's value, threshold and result and the metric record it read. Written
// once; the same id again is a no-op (a retried evaluation job).
import type { GateDecisionRecordRow } from '../../../domain/evaluation.js';
import { GateDecisionEntity } from '../entities/gate-decision.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface IGateDecisionRepository {
  /** Inserts the decision unless one with its id exists; returns whether it was inserted. */
  insertIfAbsent(decision: GateDecisionRecordRow): Promise<boolean>;
  get(id: string): Promise<GateDecisionRecordRow | null>;
  /** The decisions on one evaluation's evidence (one per policy), oldest first. */
  byEvaluation(evaluationId: string): Promise<GateDecisionRecordRow[]>;
  /** The newest decisions, newest first (the dry run replays a policy over them). */
  recent(limit: number): Promise<GateDecisionRecordRow[]>;
}

export class TypeOrmGateDecisionRepository extends TypeOrmScope implements IGateDecisionRepository {
  insertIfAbsent(decision: GateDecisionRecordRow): Promise<boolean> {
    return this.write(async (m) => {
      if (await m.getRepository(GateDecisionEntity).existsBy({ id: decision.id })) return false;
      await m.createQueryBuilder().insert().into(GateDecisionEntity).values(decision).orIgnore().updateEntity(false).execute();
      return true;
    });
  }

  async get(id: string): Promise<GateDecisionRecordRow | null> {
    const e = await this.manager.getRepository(GateDecisionEntity).findOneBy({ id });
    return e ? toRecord(e) : null;
  }

  async byEvaluation(evaluationId: string): Promise<GateDecisionRecordRow[]> {
    const rows = await this.manager.getRepository(GateDecisionEntity).find({ where: { evaluationId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map(toRecord);
  }

  async recent(limit: number): Promise<GateDecisionRecordRow[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit: a positive integer, got ${limit}`);
    const rows = await this.manager.getRepository(GateDecisionEntity).find({ order: { createdAt: 'DESC', id: 'DESC' }, take: limit });
    return rows.map(toRecord);
  }
}

function toRecord(e: GateDecisionEntity): GateDecisionRecordRow {
  return {
    id: e.id, loopIterationId: e.loopIterationId, evaluationId: e.evaluationId, candidateModelId: e.candidateModelId, policyName: e.policyName,
    verdict: e.verdict, rules: e.rules, missing: e.missing, chosenCheckpoint: e.chosenCheckpoint, inputs: e.inputs, createdAt: e.createdAt,
  };
}
