// The trainer role: the worker for training jobs. It registers the `reward_model` job
// handler (reward-model.job.ts → RewardModelService), `ppo` (ppo.job.ts → PpoService), `dpo`
// (dpo.job.ts → DpoService), `rejection_sampling` (→ RejectionSamplingService) and
// `best_of_n` (→ BestOfNService, an offline evaluation). The platform's job
// worker claims the jobs, holds their leases and records their outcomes.
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { OuterloopConfig } from '../../config/config.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { JobHandlers } from '../../platform/jobs/job-handlers.js';
import type { IDatasetSnapshotRepository, IModelRegistryRepository, ITrainingRepository, ITransactionRunner } from '../../platform/persistence/repositories/index.js';
import { ARTIFACT_STORE, CONFIG, DATASET_SNAPSHOT_REPOSITORY, MODEL_REGISTRY_REPOSITORY, TRAINING_REPOSITORY, TRANSACTION_RUNNER } from '../../platform/tokens.js';
import { RoleHeartbeat, roleHeartbeatProvider } from '../role-heartbeat.js';
import { scenarioTrainingPrompts } from './scenario-prompts.js';
import { bestOfNJobHandler } from './best-of-n.job.js';
import { BestOfNService } from './best-of-n.service.js';
import { dpoJobHandler } from './dpo.job.js';
import { DpoService } from './dpo.service.js';
import { ppoJobHandler } from './ppo.job.js';
import { PpoService } from './ppo.service.js';
import { rejectionSamplingJobHandler } from './rejection-sampling.job.js';
import { RejectionSamplingService } from './rejection-sampling.service.js';
import { rewardModelJobHandler } from './reward-model.job.js';
import { RewardModelService } from './reward-model.service.js';

const threadsOf = (config: OuterloopConfig): { intraOpThreads?: number } => (config.intraOpThreads > 0 ? { intraOpThreads: config.intraOpThreads } : {});

@Module({
  providers: [
    roleHeartbeatProvider('trainer'),
    {
      provide: RewardModelService,
      useFactory: (modelRegistry: IModelRegistryRepository, datasetSnapshots: IDatasetSnapshotRepository, training: ITrainingRepository, transactions: ITransactionRunner, artifacts: ArtifactStore, config: OuterloopConfig) =>
        new RewardModelService({ modelRegistry, datasetSnapshots, training, transactions }, artifacts, {
          minPairs: config.rewardModel.minPairs,
          qualityGate: config.rewardModel.qualityGate,
          ...(config.intraOpThreads > 0 ? { intraOpThreads: config.intraOpThreads } : {}),
        }),
      inject: [MODEL_REGISTRY_REPOSITORY, DATASET_SNAPSHOT_REPOSITORY, TRAINING_REPOSITORY, TRANSACTION_RUNNER, ARTIFACT_STORE, CONFIG],
    },
    {
      provide: PpoService,
      useFactory: (modelRegistry: IModelRegistryRepository, training: ITrainingRepository, artifacts: ArtifactStore, config: OuterloopConfig) =>
        new PpoService({ modelRegistry, training }, artifacts, { defaultPrompts: scenarioTrainingPrompts().prompts, ...(config.intraOpThreads > 0 ? { intraOpThreads: config.intraOpThreads } : {}) }),
      inject: [MODEL_REGISTRY_REPOSITORY, TRAINING_REPOSITORY, ARTIFACT_STORE, CONFIG],
    },
    {
      provide: DpoService,
      useFactory: (modelRegistry: IModelRegistryRepository, datasetSnapshots: IDatasetSnapshotRepository, training: ITrainingRepository, artifacts: ArtifactStore, config: OuterloopConfig) =>
        new DpoService({ modelRegistry, datasetSnapshots, training }, artifacts, config.intraOpThreads > 0 ? { intraOpThreads: config.intraOpThreads } : {}),
      inject: [MODEL_REGISTRY_REPOSITORY, DATASET_SNAPSHOT_REPOSITORY, TRAINING_REPOSITORY, ARTIFACT_STORE, CONFIG],
    },
    {
      provide: RejectionSamplingService,
      useFactory: (modelRegistry: IModelRegistryRepository, training: ITrainingRepository, artifacts: ArtifactStore, config: OuterloopConfig) =>
        new RejectionSamplingService({ modelRegistry, training }, artifacts, { defaultPrompts: scenarioTrainingPrompts().prompts, ...threadsOf(config) }),
      inject: [MODEL_REGISTRY_REPOSITORY, TRAINING_REPOSITORY, ARTIFACT_STORE, CONFIG],
    },
    {
      provide: BestOfNService,
      useFactory: (modelRegistry: IModelRegistryRepository, artifacts: ArtifactStore, config: OuterloopConfig) =>
        new BestOfNService({ modelRegistry }, artifacts, { defaultPrompts: scenarioTrainingPrompts().prompts, ...threadsOf(config) }),
      inject: [MODEL_REGISTRY_REPOSITORY, ARTIFACT_STORE, CONFIG],
    },
  ],
  exports: [RoleHeartbeat],
})
export class TrainerModule implements OnModuleInit {
  constructor(
    @Inject(JobHandlers) private readonly handlers: JobHandlers,
    @Inject(RewardModelService) private readonly rewardModels: RewardModelService,
    @Inject(PpoService) private readonly ppo: PpoService,
    @Inject(DpoService) private readonly dpo: DpoService,
    @Inject(RejectionSamplingService) private readonly rejectionSampling: RejectionSamplingService,
    @Inject(BestOfNService) private readonly bestOfN: BestOfNService,
  ) {}

  onModuleInit(): void {
    this.handlers.register('reward_model', rewardModelJobHandler(this.rewardModels));
    this.handlers.register('ppo', ppoJobHandler(this.ppo));
    this.handlers.register('dpo', dpoJobHandler(this.dpo));
    this.handlers.register('rejection_sampling', rejectionSamplingJobHandler(this.rejectionSampling));
    this.handlers.register('best_of_n', bestOfNJobHandler(this.bestOfN));
  }
}
