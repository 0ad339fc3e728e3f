// Persistence behind ports (ARCHITECTURE §8 "services get repositories, never a raw
// DataSource"): one repository per aggregate, an interface each (`I…Repository`)
// with its TypeORM implementation, and a transaction port. The platform module
// provides them by token (src/platform/tokens.ts); the CLI and tests build them
// with `createRepositories`.
import type { DataSource } from 'typeorm';
import { TypeOrmCompletionRepository, type ICompletionRepository } from './completion.repository.js';
import { TypeOrmFeedbackRepository, type IFeedbackRepository } from './feedback.repository.js';
import { transactionScope, TypeOrmTransactionRunner, type ITransactionRunner, type TransactionScope } from './transaction-runner.js';

export type { IApiKeyRepository } from './api-key.repository.js';
export type { CompletionOwnership, ICompletionRepository, ServedCompletion } from './completion.repository.js';
export type { IDatasetSnapshotRepository } from './dataset-snapshot.repository.js';
export type { IDeploymentRepository } from './deployment.repository.js';
export type { IEvaluationRepository } from './evaluation.repository.js';
export type { IGateDecisionRepository } from './gate-decision.repository.js';
export type { FeedbackWithModelVersion, IFeedbackRepository } from './feedback.repository.js';
export type { ILoopIterationRepository, ILoopLeaseRepository, LoopLease } from './loop-iteration.repository.js';
export { LoopIterationConflictError } from './loop-iteration.repository.js';
export type { IModelRegistryRepository } from './model-registry.repository.js';
export type { IPreferencePairRepository } from './preference-pair.repository.js';
export type { ITransactionRunner, TransactionScope } from './transaction-runner.js';
export type { ITrainingRepository, TrainingRunRecord } from './training.repository.js';
export type { IUserFlagRepository } from './user-flag.repository.js';

export interface Repositories extends TransactionScope {
  completions: ICompletionRepository;
  feedback: IFeedbackRepository;
  transactions: ITransactionRunner;
}

const byDataSource = new WeakMap<DataSource, Repositories>();

/** The repositories of one data source (one set per data source, so per-instance
 *  state such as prepared statements is shared by every caller). */
export function createRepositories(dataSource: DataSource): Repositories {
  let repositories = byDataSource.get(dataSource);
  if (!repositories) {
    repositories = {
      ...transactionScope(dataSource.manager),
      completions: new TypeOrmCompletionRepository(dataSource.manager),
      feedback: new TypeOrmFeedbackRepository(dataSource.manager),
      transactions: new TypeOrmTransactionRunner(dataSource),
    };
    byDataSource.set(dataSource, repositories);
  }
  return repositories;
}
