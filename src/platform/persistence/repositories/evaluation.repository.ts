// Evaluation results (the `evaluations` table): one evaluation is a row per (suite,
// side) sharing an evaluation id. Rows are written once and never changed; writing the
// same row id again is a no-op, so a retried evaluation job does not duplicate them.
import { In } from 'typeorm';
import type { EvaluationRecord } from '../../../domain/evaluation.js';
import { EvaluationEntity } from '../entities/evaluation.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface IEvaluationRepository {
  /** Inserts the rows that are not there yet (by id); returns how many were inserted. */
  insertIfAbsent(rows: readonly EvaluationRecord[]): Promise<number>;
  /** Every row of one evaluation, by suite then side. */
  byEvaluation(evaluationId: string): Promise<EvaluationRecord[]>;
  /** The evaluation ids a model version took part in as the candidate, newest first. */
  evaluationsOfCandidate(modelVersionId: string): Promise<string[]>;
}

export class TypeOrmEvaluationRepository extends TypeOrmScope implements IEvaluationRepository {
  insertIfAbsent(rows: readonly EvaluationRecord[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    return this.write(async (m) => {
      const repo = m.getRepository(EvaluationEntity);
      const existing = new Set((await repo.find({ select: { id: true }, where: { id: In(rows.map((r) => r.id)) } })).map((r) => r.id));
      const fresh = rows.filter((r) => !existing.has(r.id));
      if (fresh.length > 0) await repo.insert(fresh);
      return fresh.length;
    });
  }

  async byEvaluation(evaluationId: string): Promise<EvaluationRecord[]> {
    const rows = await this.manager.getRepository(EvaluationEntity).find({ where: { evaluationId }, order: { suite: 'ASC', side: 'ASC', id: 'ASC' } });
    return rows.map(toRecord);
  }

  async evaluationsOfCandidate(modelVersionId: string): Promise<string[]> {
    const rows = await this.manager.getRepository(EvaluationEntity).find({
      select: { evaluationId: true, createdAt: true },
      where: { modelVersionId, side: 'candidate' },
      order: { createdAt: 'DESC', id: 'ASC' },
    });
    return [...new Set(rows.map((r) => r.evaluationId).filter((id): id is string => id !== null))];
  }
}

function toRecord(e: EvaluationEntity): EvaluationRecord {
  return {
    id: e.id, evaluationId: e.evaluationId, modelVersionId: e.modelVersionId, checkpointId: e.checkpointId, suite: e.suite, side: e.side,
    comparedWithModelId: e.comparedWithModelId, metrics: e.metrics, details: e.details, reportPath: e.reportPath, createdAt: e.createdAt,
  };
}
