// Training runs: the run row (status, config, lineage) and its per-step checkpoint rows.
// The trainer writes them; the admin API and the orchestrator read them. (Evaluations and
// gate decisions have their own repositories.)
import type { TrainingKind, TrainingStatus } from '../../../domain/training.js';
import type { JsonObject } from '../entities/columns.js';
import { CheckpointEntity } from '../entities/checkpoint.entity.js';
import { TrainingRunEntity } from '../entities/training-run.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface TrainingRunRecord {
  id: string;
  kind: TrainingKind;
  config: JsonObject;
  baseModelId: string | null;
  datasetSnapshotId: string | null;
  status: TrainingStatus;
  seed: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  createdAt: Date;
}

export interface ITrainingRepository {
  /**
   * Mark a run as running: inserted when new; a run that exists (a resumed attempt) is set
   * running again with its error cleared — its config, seed and lineage are kept.
   */
  startRun(run: Omit<TrainingRunRecord, 'status' | 'startedAt' | 'finishedAt' | 'error' | 'createdAt'>, at?: Date): Promise<TrainingRunRecord>;
  finishRun(id: string, status: Extract<TrainingStatus, 'succeeded' | 'failed' | 'cancelled'>, error?: string | null, at?: Date): Promise<void>;
  getRun(id: string): Promise<TrainingRunRecord | null>;
  /** Upsert by (run, step). */
  recordCheckpoint(row: { id: string; runId: string; step: number; metrics: Record<string, number>; artifactPath: string | null; createdAt?: Date }): Promise<void>;
  checkpointsOf(runId: string): Promise<{ step: number; metrics: Record<string, number>; artifactPath: string | null }[]>;
}

export class TypeOrmTrainingRepository extends TypeOrmScope implements ITrainingRepository {
  async startRun(run: Omit<TrainingRunRecord, 'status' | 'startedAt' | 'finishedAt' | 'error' | 'createdAt'>, at = new Date()): Promise<TrainingRunRecord> {
    return this.write(async (m) => {
      const runs = m.getRepository(TrainingRunEntity);
      const existing = await runs.findOneBy({ id: run.id });
      if (existing) {
        await runs.update({ id: run.id }, { status: 'running', error: null, finishedAt: null, startedAt: at });
      } else {
        await m.createQueryBuilder().insert().into(TrainingRunEntity)
          .values({ ...run, status: 'running', startedAt: at, finishedAt: null, error: null, createdAt: at }).orIgnore().updateEntity(false).execute();
      }
      return (await runs.findOneBy({ id: run.id }))!;
    });
  }

  async finishRun(id: string, status: Extract<TrainingStatus, 'succeeded' | 'failed' | 'cancelled'>, error: string | null = null, at = new Date()): Promise<void> {
    await this.write((m) => m.getRepository(TrainingRunEntity).update({ id }, { status, error, finishedAt: at }));
  }

  getRun(id: string): Promise<TrainingRunRecord | null> {
    return this.manager.getRepository(TrainingRunEntity).findOneBy({ id });
  }

  async recordCheckpoint(row: { id: string; runId: string; step: number; metrics: Record<string, number>; artifactPath: string | null; createdAt?: Date }): Promise<void> {
    await this.write(async (m) => {
      await m.createQueryBuilder().insert().into(CheckpointEntity)
        .values({ id: row.id, runId: row.runId, step: row.step, metrics: row.metrics, artifactPath: row.artifactPath, createdAt: row.createdAt ?? new Date() })
        .orUpdate(['metrics', 'artifact_path'], ['run_id', 'step']).updateEntity(false).execute();
    });
  }

  async checkpointsOf(runId: string): Promise<{ step: number; metrics: Record<string, number>; artifactPath: string | null }[]> {
    const rows = await this.manager.getRepository(CheckpointEntity).find({ where: { runId }, order: { step: 'ASC' } });
    return rows.map((r) => ({ step: r.step, metrics: r.metrics, artifactPath: r.artifactPath }));
  }

}
