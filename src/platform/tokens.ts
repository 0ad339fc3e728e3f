// Injection tokens for the ports every service module may ask for. The platform
// module (src/platform/platform.module.ts) provides them for the configured mode.
// Services ask for repositories and the transaction runner, never for the DataSource.
export { EVENT_BUS } from './messaging/event-bus.js';
export { ARTIFACT_STORE } from './artifacts/artifact-store.js';
export const CONFIG = Symbol('CONFIG'); // OuterloopConfig
export const METRICS = Symbol('METRICS'); // prom-client Registry

// persistence (src/platform/persistence/repositories)
export const DATABASE = Symbol('DATABASE'); // IDatabase: connect, migrate, ping, close
export const TRANSACTION_RUNNER = Symbol('TRANSACTION_RUNNER'); // ITransactionRunner
export const COMPLETION_REPOSITORY = Symbol('COMPLETION_REPOSITORY'); // ICompletionRepository
export const FEEDBACK_REPOSITORY = Symbol('FEEDBACK_REPOSITORY'); // IFeedbackRepository
export const PREFERENCE_PAIR_REPOSITORY = Symbol('PREFERENCE_PAIR_REPOSITORY'); // IPreferencePairRepository
export const USER_FLAG_REPOSITORY = Symbol('USER_FLAG_REPOSITORY'); // IUserFlagRepository
export const DATASET_SNAPSHOT_REPOSITORY = Symbol('DATASET_SNAPSHOT_REPOSITORY'); // IDatasetSnapshotRepository
export const API_KEY_REPOSITORY = Symbol('API_KEY_REPOSITORY'); // IApiKeyRepository
export const MODEL_REGISTRY_REPOSITORY = Symbol('MODEL_REGISTRY_REPOSITORY'); // IModelRegistryRepository
export const DEPLOYMENT_REPOSITORY = Symbol('DEPLOYMENT_REPOSITORY'); // IDeploymentRepository
export const TRAINING_REPOSITORY = Symbol('TRAINING_REPOSITORY'); // ITrainingRepository: runs, checkpoints, evaluations, gate decisions
export const LOOP_ITERATION_REPOSITORY = Symbol('LOOP_ITERATION_REPOSITORY'); // ILoopIterationRepository
export const LOOP_LEASE_REPOSITORY = Symbol('LOOP_LEASE_REPOSITORY'); // ILoopLeaseRepository
export { JOB_REPOSITORY } from './jobs/job-repository.js'; // IJobRepository (src/platform/jobs)
export const EVALUATION_REPOSITORY = Symbol('EVALUATION_REPOSITORY'); // IEvaluationRepository
export const GATE_DECISION_REPOSITORY = Symbol('GATE_DECISION_REPOSITORY'); // IGateDecisionRepository

/** The TypeORM DataSource: platform adapters only (the embedded event bus lives in
 *  the same database). Not exported by the platform module. */
export const DATA_SOURCE = Symbol('DATA_SOURCE');
