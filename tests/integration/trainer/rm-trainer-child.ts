// A trainer process for the reward-model takeover test: its own DataSource and bus on
// the test's stores, the real `reward_model` job handler (RewardModelService on a
// TrainThread), and a job worker. The test SIGKILLs one of these mid-training and starts
// another. Configuration: env OUTERLOOP_TEST_RM_TRAINER (JSON, RmTrainerChildConfig).
// Prints "READY <owner>" once its worker is started.
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { JobHandlers } from '../../../src/platform/jobs/job-handlers.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { createRepositories } from '../../../src/platform/persistence/repositories/index.js';
import { rewardModelJobHandler } from '../../../src/services/trainer/reward-model.job.js';
import { RewardModelService, type RewardModelServiceOptions } from '../../../src/services/trainer/reward-model.service.js';
import { openNode, type NodeConfig } from '../jobs/node.js';

export interface RmTrainerChildConfig {
  node: NodeConfig;
  artifactDir: string;
  leaseMs: number;
  heartbeatMs: number;
  service: RewardModelServiceOptions;
}

async function main(): Promise<void> {
  const raw = process.env.OUTERLOOP_TEST_RM_TRAINER;
  if (!raw) throw new Error('OUTERLOOP_TEST_RM_TRAINER (JSON config) is not set');
  const config = JSON.parse(raw) as RmTrainerChildConfig;
  const node = await openNode(config.node, new Logger('rm-trainer-child'));
  const service = new RewardModelService(createRepositories(node.dataSource), new LocalArtifactStore(config.artifactDir), config.service);
  const handlers = new JobHandlers();
  handlers.register('reward_model', rewardModelJobHandler(service));
  const worker = await node.startWorker(handlers, { leaseMs: config.leaseMs, heartbeatMs: config.heartbeatMs });
  process.stdout.write(`READY ${worker.owner}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`rm-trainer-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
