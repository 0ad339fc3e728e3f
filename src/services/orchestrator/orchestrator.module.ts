// The orchestrator role: the schedule and the loop state machine (snapshot → reward
// model → RM gate → PPO → evaluate → gate → canary → promote | rollback), the admin
// API and lineage. Orchestrator (orchestrator.ts) holds the logic; this module wires
// it to the platform's ports and runs its timers: a tick that holds the lease and
// drives the unfinished iteration, and the cron trigger (@nestjs/schedule).
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { Registry } from 'prom-client';
import type { OuterloopConfig } from '../../config/config.js';
import { DEFAULT_CANARY_POLICY } from '../../evaluation/canary/canary-verdict.js';
import type { IJobRepository } from '../../platform/jobs/job-repository.js';
import { JobQueue } from '../../platform/jobs/job-queue.js';
import { Logger } from '../../platform/logging/logger.js';
import type { EventBus } from '../../platform/messaging/event-bus.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import {
  COMPLETION_REPOSITORY,
  CONFIG,
  DATASET_SNAPSHOT_REPOSITORY,
  EVENT_BUS,
  FEEDBACK_REPOSITORY,
  JOB_REPOSITORY,
  LOOP_ITERATION_REPOSITORY,
  METRICS,
  MODEL_REGISTRY_REPOSITORY,
  PREFERENCE_PAIR_REPOSITORY,
  TRANSACTION_RUNNER,
} from '../../platform/tokens.js';
import { LOOP_NEW_PAIRS, LOOP_SNAPSHOTTER, loopNewPairsProvider, loopSnapshotterProvider } from '../loop-snapshotter.js';
import { RoleHeartbeat, roleHeartbeatProvider } from '../role-heartbeat.js';
import { canaryObserver } from './canary-observer.js';
import { LoopMetrics } from './loop-metrics.js';
import { LoopLineage } from './lineage.js';
import { LoopController } from './loop.controller.js';
import type { Snapshotter } from './loop-runner.js';
import { Orchestrator } from './orchestrator.js';

type R = Repositories;

const CRON_NAME = 'outerloop-loop';

@Injectable()
export class LoopScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('orchestrator');
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(Orchestrator) private readonly orchestrator: Orchestrator,
    @Inject(CONFIG) private readonly config: OuterloopConfig,
    @Inject(SchedulerRegistry) private readonly schedules: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const { leaseMs, cron } = this.config.orchestrator;
    const every = Math.max(500, Math.floor(leaseMs / 3));
    const tick = () => void this.orchestrator.tick();
    // renew the lease while a long step runs (the tick below may wait on a job for hours)
    const renew = () => void this.orchestrator.renewLease().catch((err: unknown) => this.log.warn('lease renewal failed', { error: String(err) }));
    this.timers = [setInterval(tick, every), setInterval(renew, every)];
    for (const t of this.timers) t.unref();
    if (cron) {
      const job = CronJob.from({
        cronTime: cron,
        start: true,
        onTick: () => {
          this.orchestrator
            .trigger('cron')
            .then(() => this.orchestrator.tick())
            .catch((err: unknown) => this.log.info('scheduled iteration not started', { reason: err instanceof Error ? err.message : String(err) }));
        },
      });
      this.schedules.addCronJob(CRON_NAME, job as never);
    }
    this.log.info('orchestrator started', { owner: this.orchestrator.owner, cron, leaseMs });
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    // the schedule module may have stopped and dropped its jobs first
    if (this.schedules.doesExist('cron', CRON_NAME)) this.schedules.deleteCronJob(CRON_NAME);
    await this.orchestrator.releaseLease().catch((err: unknown) => this.log.warn('lease release failed', { error: String(err) }));
  }
}

@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [LoopController],
  providers: [
    roleHeartbeatProvider('orchestrator'),
    loopSnapshotterProvider,
    loopNewPairsProvider,
    {
      provide: Orchestrator,
      useFactory: (
        config: OuterloopConfig, transactions: R['transactions'], queue: JobQueue, jobRepo: IJobRepository, bus: EventBus, feedback: R['feedback'], completions: R['completions'],
        iterations: R['loopIterations'], snapshot: Snapshotter, countNewPairs: () => Promise<number>, registry: Registry,
      ) => {
        const o = config.orchestrator;
        const metrics = new LoopMetrics(registry, {
          latest: async () => (await iterations.list(1))[0] ?? null,
          stuckAfterSeconds: o.stuckAfterSeconds,
          canaryTimeLimitSeconds: o.canary.timeLimitMs / 1000,
          canaryWeight: o.canary.weight,
          canaryAlpha: o.canary.alpha,
        });
        return new Orchestrator({
          transactions,
          jobs: queue,
          bus,
          snapshot,
          metrics,
          observeCanary: canaryObserver({ feedback, completions, registry }),
          countNewPairs,
          jobsById: async (ids) => (await Promise.all(ids.map((id) => jobRepo.get(id)))).filter((j) => j !== null),
          leaseMs: o.leaseMs,
          minNewPairs: o.minNewPairs,
          options: {
            rewardModel: { ensemble: o.rmEnsemble },
            minRmHeldoutAccuracy: o.rmMinHeldoutAccuracy,
            snapshotHeldoutFraction: o.heldoutFraction,
            ppo: {
              steps: o.ppoSteps, checkpointEvery: o.ppoCheckpointEvery,
              ...(o.ppoBatchSize !== null ? { batchSize: o.ppoBatchSize } : {}),
              ...(o.ppoLearningRate !== null ? { learningRate: o.ppoLearningRate } : {}),
            },
            evaluationSuites: o.evaluationSuites,
            canary: { ...DEFAULT_CANARY_POLICY, alpha: o.canary.alpha, minSamples: o.canary.minSamples, maxSamples: o.canary.maxSamples, weight: o.canary.weight, timeLimitMs: o.canary.timeLimitMs, pollMs: o.canary.pollMs },
            jobPollMs: 2000,
          },
        });
      },
      inject: [
        CONFIG, TRANSACTION_RUNNER, JobQueue, JOB_REPOSITORY, EVENT_BUS, FEEDBACK_REPOSITORY, COMPLETION_REPOSITORY,
        LOOP_ITERATION_REPOSITORY, LOOP_SNAPSHOTTER, LOOP_NEW_PAIRS, METRICS,
      ],
    },
    {
      provide: LoopLineage,
      useFactory: (loopIterations: R['loopIterations'], modelRegistry: R['modelRegistry'], datasetSnapshots: R['datasetSnapshots'], feedback: R['feedback'], preferencePairs: R['preferencePairs']) =>
        new LoopLineage({ loopIterations, modelRegistry, datasetSnapshots, feedback, preferencePairs }),
      inject: [LOOP_ITERATION_REPOSITORY, MODEL_REGISTRY_REPOSITORY, DATASET_SNAPSHOT_REPOSITORY, FEEDBACK_REPOSITORY, PREFERENCE_PAIR_REPOSITORY],
    },
    LoopScheduler,
  ],
  exports: [RoleHeartbeat, Orchestrator],
})
export class OrchestratorModule {}

