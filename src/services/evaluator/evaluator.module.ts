// The evaluator role: the worker for evaluation jobs (suites, divergence detection,
// gate verdicts). EvaluatorService evaluates a candidate against the incumbent and
// records the evaluation, the gate decisions and the report; EvaluationJobHandler runs
// it for `evaluation` jobs (src/platform/jobs), with REWARD_SCORER_PROVIDER
// (reward-model-scorers.ts) scoring proxy reward for a job that names a reward model.
//
// The report endpoints (EvaluationReportsModule) are served by the gateway role: its
// request hooks check the admin scope, and a process without them would serve the
// reports to anyone. They read the ArtifactStore and the gate decisions' table, so any
// gateway process can.
import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { OuterloopConfig } from '../../config/config.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import type {
  IEvaluationRepository, IGateDecisionRepository, IModelRegistryRepository, ITrainingRepository, ITransactionRunner,
} from '../../platform/persistence/repositories/index.js';
import {
  ARTIFACT_STORE, CONFIG, EVALUATION_REPOSITORY, GATE_DECISION_REPOSITORY, METRICS, MODEL_REGISTRY_REPOSITORY, TRAINING_REPOSITORY, TRANSACTION_RUNNER,
} from '../../platform/tokens.js';
import { RoleHeartbeat, roleHeartbeatProvider } from '../role-heartbeat.js';
import { EvaluationReportsController, GateDecisionsController } from './evaluation-reports.controller.js';
import { GateDecisionReads } from './gate-decisions.js';
import { EvaluationJobHandler, REWARD_SCORER_PROVIDER } from './evaluation-job.handler.js';
import { EvaluatorMetrics } from './evaluator-metrics.js';
import { EvaluationReports } from './evaluation-reports.js';
import { EvaluatorService } from './evaluator.service.js';
import { RewardModelScorers } from './reward-model-scorers.js';

@Module({
  providers: [
    roleHeartbeatProvider('evaluator'),
    {
      provide: EvaluatorService,
      useFactory: (modelRegistry: IModelRegistryRepository, evaluations: IEvaluationRepository, gateDecisions: IGateDecisionRepository, transactions: ITransactionRunner, artifacts: ArtifactStore, registry: Registry, training: ITrainingRepository, config: OuterloopConfig) =>
        new EvaluatorService(
          { modelRegistry, evaluations, gateDecisions, transactions, artifacts, training, metrics: new EvaluatorMetrics(registry) },
          config.evaluator.klBudget !== null ? { klBudget: config.evaluator.klBudget } : {},
        ),
      inject: [MODEL_REGISTRY_REPOSITORY, EVALUATION_REPOSITORY, GATE_DECISION_REPOSITORY, TRANSACTION_RUNNER, ARTIFACT_STORE, METRICS, TRAINING_REPOSITORY, CONFIG],
    },
    {
      provide: REWARD_SCORER_PROVIDER,
      useFactory: (modelRegistry: IModelRegistryRepository, artifacts: ArtifactStore) => new RewardModelScorers(modelRegistry, artifacts),
      inject: [MODEL_REGISTRY_REPOSITORY, ARTIFACT_STORE],
    },
    EvaluationJobHandler,
  ],
  exports: [RoleHeartbeat, EvaluatorService],
})
export class EvaluatorModule implements OnModuleDestroy {
  constructor(@Inject(REWARD_SCORER_PROVIDER) private readonly rewardScorers: RewardModelScorers) {}

  async onModuleDestroy(): Promise<void> {
    await this.rewardScorers.close();
  }
}

@Module({
  controllers: [EvaluationReportsController, GateDecisionsController],
  providers: [
    { provide: EvaluationReports, useFactory: (artifacts: ArtifactStore) => new EvaluationReports(artifacts), inject: [ARTIFACT_STORE] },
    { provide: GateDecisionReads, useFactory: (decisions: IGateDecisionRepository) => new GateDecisionReads(decisions), inject: [GATE_DECISION_REPOSITORY] },
  ],
})
export class EvaluationReportsModule {}
