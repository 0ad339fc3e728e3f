// The transaction port. A service that must change several rows together asks for
// a transaction and gets repositories bound to it; how the database serialises that
// work (SQLite's one shared connection, see sqlite-serializer.ts) stays in here.
import type { DataSource, EntityManager } from 'typeorm';
import { serializeOnSqlite } from '../sqlite-serializer.js';
import { TypeOrmApiKeyRepository, type IApiKeyRepository } from './api-key.repository.js';
import { TypeOrmDatasetSnapshotRepository, type IDatasetSnapshotRepository } from './dataset-snapshot.repository.js';
import { TypeOrmDeploymentRepository, type IDeploymentRepository } from './deployment.repository.js';
import { TypeOrmEvaluationRepository, type IEvaluationRepository } from './evaluation.repository.js';
import { TypeOrmGateDecisionRepository, type IGateDecisionRepository } from './gate-decision.repository.js';
import { TypeOrmLoopIterationRepository, TypeOrmLoopLeaseRepository, type ILoopIterationRepository, type ILoopLeaseRepository } from './loop-iteration.repository.js';
import { TypeOrmModelRegistryRepository, type IModelRegistryRepository } from './model-registry.repository.js';
import { TypeOrmPreferencePairRepository, type IPreferencePairRepository } from './preference-pair.repository.js';
import { TypeOrmTrainingRepository, type ITrainingRepository } from './training.repository.js';
import { TypeOrmUserFlagRepository, type IUserFlagRepository } from './user-flag.repository.js';

/** The repositories a transaction can use: everything is committed together or not at all. */
export interface TransactionScope {
  apiKeys: IApiKeyRepository;
  datasetSnapshots: IDatasetSnapshotRepository;
  deployments: IDeploymentRepository;
  evaluations: IEvaluationRepository;
  gateDecisions: IGateDecisionRepository;
  loopIterations: ILoopIterationRepository;
  loopLeases: ILoopLeaseRepository;
  modelRegistry: IModelRegistryRepository;
  preferencePairs: IPreferencePairRepository;
  training: ITrainingRepository;
  userFlags: IUserFlagRepository;
}

export interface ITransactionRunner {
  /** Run `work` in one transaction: committed when it resolves, rolled back when it throws. */
  run<T>(work: (tx: TransactionScope) => Promise<T>): Promise<T>;
}

export function transactionScope(manager: EntityManager): TransactionScope {
  return {
    apiKeys: new TypeOrmApiKeyRepository(manager),
    datasetSnapshots: new TypeOrmDatasetSnapshotRepository(manager),
    deployments: new TypeOrmDeploymentRepository(manager),
    evaluations: new TypeOrmEvaluationRepository(manager),
    gateDecisions: new TypeOrmGateDecisionRepository(manager),
    loopIterations: new TypeOrmLoopIterationRepository(manager),
    loopLeases: new TypeOrmLoopLeaseRepository(manager),
    modelRegistry: new TypeOrmModelRegistryRepository(manager),
    preferencePairs: new TypeOrmPreferencePairRepository(manager),
    training: new TypeOrmTrainingRepository(manager),
    userFlags: new TypeOrmUserFlagRepository(manager),
  };
}

export class TypeOrmTransactionRunner implements ITransactionRunner {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (tx: TransactionScope) => Promise<T>): Promise<T> {
    // SQLite: one shared connection, so a second transaction would nest inside the
    // first as a SAVEPOINT; queue them. PostgreSQL: a pass-through.
    return serializeOnSqlite(this.dataSource, () => this.dataSource.transaction((manager) => work(transactionScope(manager))));
  }
}
