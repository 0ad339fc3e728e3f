// One "process" of the orchestrator tests on SQLite + the embedded bus: the real
// repositories, job queue, job worker and orchestrator, with test handlers for the
// reward_model / ppo / evaluation kinds that honour the job contract of
// docs/orchestrator.md (same params, same result shapes), a real DatasetService
// snapshot, and simulated users whose thumbs land in the feedback table while a canary
// runs. Used in-process by loop.test.ts and in a child process (loop-child.ts) that the
// crash-resume test SIGKILLs.
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { CompletionRecord } from '../../../../src/domain/completions.js';
import type { FeedbackRecord } from '../../../../src/domain/feedback.js';
import type { LoopIterationRecord, LoopStep } from '../../../../src/domain/loop.js';
import { DEFAULT_CANARY_POLICY } from '../../../../src/evaluation/canary/canary-verdict.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { JobHandlers } from '../../../../src/platform/jobs/job-handlers.js';
import { JobQueue } from '../../../../src/platform/jobs/job-queue.js';
import { JobWorker } from '../../../../src/platform/jobs/job-worker.js';
import { TypeOrmJobRepository } from '../../../../src/platform/jobs/typeorm-job-repository.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { EmbeddedEventBus } from '../../../../src/platform/messaging/embedded/embedded-event-bus.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { canaryObserver } from '../../../../src/services/orchestrator/canary-observer.js';
import { LoopMetrics } from '../../../../src/services/orchestrator/loop-metrics.js';
import { Orchestrator } from '../../../../src/services/orchestrator/orchestrator.js';
import { createSnapshot, DatasetService } from '../../../../src/services/ingest/dataset/dataset.service.js';
import { freezeRlPromptSet } from '../../../../src/services/rl-prompt-set.js';
import { loadPromptSet } from '../../../../src/services/trainer/optimisation-inputs.js';
import { scenarioSuites } from '../../../../src/scenario/eval-suites.js';
import { mulberry32 } from '../../../support/mulberry32.js';

export interface WorldConfig {
  dir: string;
  /** the reward_model handler's held-out accuracy (the RM gate's bar is 0.6) */
  rmAccuracy: number;
  /** the evaluation handler's verdict */
  verdict: 'pass' | 'fail' | 'needs_review';
  /** thumbs-up probability of the canary's and production's answers */
  canaryUp: number;
  productionUp: number;
  /** a job kind whose handler fails (not retriable) */
  failKind?: 'reward_model' | 'ppo' | 'evaluation';
  /** SIGKILL this process right after committing this state (crash tests) */
  killAt?: LoopStep;
  /** SIGKILL this process inside this step's job handler (the trainer dies mid-job) */
  killInJob?: 'train_rm' | 'rl' | 'evaluate';
  seed: number;
  /** the database and the bus fail now and then (a seeded quarter of transactions and a third of publishes) */
  flaky?: boolean;
  /** answer evaluation jobs in the evaluator handler's shape ({ evaluationId, verdicts }) */
  evaluatorShape?: boolean;
  /** answer reward_model jobs in the trainer's shape (flat heldOutAccuracy, the RM quality gate's verdict, status) */
  trainerShape?: { qualityGate: 'pass' | 'fail' | null };
  /** the RL prompt set's minimum (default 1) */
  minRlPrompts?: number;
  /** the data-readiness trigger on the real count (DatasetService); default off */
  minNewPairs?: number;
}

export const BASE_POLICY = 'policy-base';
export const SIM_BATCH = 20;

export interface World {
  ds: DataSource;
  repos: Repositories;
  queue: JobQueue;
  orchestrator: Orchestrator;
  /** another orchestrator process on the same stores (a successor after a crash) */
  spawnOrchestrator(owner: string): Orchestrator;
  transitions: string[];
  /** the orchestrator's Prometheus metrics */
  registry: Registry;
  close(): Promise<void>;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The eval suites the world's RL prompt set excludes (the evaluator's default). */
const EVAL_SUITES = scenarioSuites();
/** The first extrinsic eval prompt, as a user would have typed it into production. */
export const EVAL_PROMPT = EVAL_SUITES[0]!.promptSet.prompts[0]!.messages.at(-1)!.content;
/** What users asked production before the first iteration: two distinct prompts (one twice, spaced differently) and an eval-set prompt. */
export const SEEDED_PROMPTS = ['How do I list files in a directory?', 'What is 12 plus 30?', 'How do I  list files in a directory? ', EVAL_PROMPT];

function seededCompletion(i: number, content: string, at: Date): CompletionRecord {
  return {
    id: `seed-${i}`, conversationId: `seed-conv-${i}`, comparisonId: null, messages: [{ role: 'user', content }], response: 'ok', modelVersion: BASE_POLICY,
    sampling: { temperature: 1, topP: 1, maxTokens: 16, seed: null } as never, promptTokens: 1, completionTokens: 1, finishReason: 'stop', ttftMs: 1, latencyMs: 2,
    userId: `user-${i}`, apiKeyId: null, shadow: false, createdAt: at, ingestedAt: at,
  };
}

/** Migrate a fresh database and seed the production base policy and its deployment. */
export async function seedWorld(dir: string): Promise<void> {
  const ds = createDataSource({ type: 'better-sqlite3', path: `${dir}/loop.sqlite` });
  await ds.initialize();
  try {
    await runMigrations(ds);
    const repos = createRepositories(ds);
    await repos.modelRegistry.register({ id: BASE_POLICY, kind: 'policy', artifactPath: 'models/base', sha256: sha('base'), status: 'production' });
    await repos.deployments.insertIfAbsent({ id: 'initial', productionModelId: BASE_POLICY, canaryModelId: null, canaryWeight: 0, shadowModelId: null, reason: 'install', createdAt: new Date(Date.now() - 60_000) });
    await repos.completions.insertIgnoringDuplicates(SEEDED_PROMPTS.map((p, i) => seededCompletion(i, p, new Date(Date.now() - 30_000))));
  } finally {
    await ds.destroy();
  }
}

/** Simulated users: the next batch of thumbs, half on production answers and half on the canary's; ids by index, so a resumed canary sees the same feedback. */
async function simulateUsers(repos: Repositories, config: WorldConfig, canaryModel: string): Promise<void> {
  const done = (await repos.feedback.findInWindow(null, null)).length;
  const completions: CompletionRecord[] = [];
  const feedback: FeedbackRecord[] = [];
  const now = new Date();
  for (let i = done; i < done + SIM_BATCH; i++) {
    const rand = mulberry32(config.seed * 100_003 + i);
    const onCanary = i % 2 === 1;
    const model = onCanary ? canaryModel : BASE_POLICY;
    const up = rand() < (onCanary ? config.canaryUp : config.productionUp);
    completions.push({
      id: `c-${i}`, conversationId: `conv-${i}`, comparisonId: null, messages: [{ role: 'user', content: `q${i}` }], response: `a${i}`, modelVersion: model,
      sampling: { temperature: 1, topP: 1, maxTokens: 16, seed: null } as never, promptTokens: 1, completionTokens: 1, finishReason: 'stop', ttftMs: 1, latencyMs: 2,
      userId: `user-${i % 97}`, apiKeyId: null, shadow: false, createdAt: now, ingestedAt: now,
    });
    feedback.push({ id: `fb-${i}`, completionId: `c-${i}`, type: 'thumbs', value: up ? 1 : -1, otherCompletionId: null, editedResponse: null, comment: null, userId: `user-${i % 97}`, apiKeyId: null, createdAt: now, ingestedAt: now });
  }
  await repos.completions.insertIgnoringDuplicates(completions);
  await repos.feedback.insertIgnoringDuplicates(feedback);
}

function maybeKill(config: WorldConfig, step: string, inJob: boolean): void {
  if ((inJob ? config.killInJob : config.killAt) === step) process.kill(process.pid, 'SIGKILL');
}

export async function openWorld(config: WorldConfig, onTransition?: (it: LoopIterationRecord) => void): Promise<World> {
  const logger = new Logger('loop-test');
  const ds = createDataSource({ type: 'better-sqlite3', path: `${config.dir}/loop.sqlite` });
  await ds.initialize();
  const repos = createRepositories(ds);
  const bus = new EmbeddedEventBus(ds, { topicPrefix: 'loop-test', pollIntervalMs: 50, backoff: { initialMs: 20, maxMs: 200 }, logger });
  await bus.start();
  const jobRepository = new TypeOrmJobRepository(ds.manager);
  const queue = new JobQueue(jobRepository, bus, { logger });
  const artifacts = new LocalArtifactStore(`${config.dir}/artifacts`);

  const handlers = new JobHandlers();
  const iterationOf = (key: string | null) => (key ?? 'none').split(':')[0]!;
  const fail = (kind: string) => {
    if (config.failKind === kind) throw Object.assign(new Error(`${kind} handler: simulated trainer failure`), { retriable: false });
  };
  handlers.register('reward_model', async (ctx) => {
    maybeKill(config, 'train_rm', true);
    fail('reward_model');
    const judge = ctx.job.params.split === 'heldout';
    const id = `${judge ? 'judge' : 'rm'}-${iterationOf(ctx.job.idempotencyKey)}`;
    await repos.modelRegistry.register({ id, kind: 'reward', artifactPath: `models/${id}`, sha256: sha(id), datasetSnapshotId: ctx.job.params.snapshotId }, { ifAbsent: true });
    if (config.trainerShape) {
      const gate = judge ? null : config.trainerShape.qualityGate;
      // the trainer's shape: flat figures and verdict, and the same figures again in `metrics`
      const heldOutAccuracy = judge ? 0.5 : config.rmAccuracy;
      return { modelVersion: id, status: gate === 'fail' ? 'rejected' : 'candidate', heldOutAccuracy, hardPairAccuracy: 0.8, gate, judge, metrics: { heldoutAccuracy: heldOutAccuracy, hardPairAccuracy: 0.8 } };
    }
    return { modelVersion: id, metrics: { heldoutAccuracy: judge ? 0.5 : config.rmAccuracy, ece: 0.03 } };
  });
  handlers.register('ppo', async (ctx) => {
    maybeKill(config, 'rl', true);
    fail('ppo');
    // the prompts the loop froze in the snapshot step, as the trainer loads them
    const prompts = await loadPromptSet(artifacts, String(ctx.job.params.promptSetId));
    if (prompts.length === 0) throw Object.assign(new Error('ppo handler: empty prompt set'), { retriable: false });
    const iteration = iterationOf(ctx.job.idempotencyKey);
    const id = `policy-${iteration}`;
    await repos.modelRegistry.register({ id, kind: 'policy', parentId: BASE_POLICY, artifactPath: `models/${id}`, sha256: sha(id) }, { ifAbsent: true });
    return { runId: `run-${iteration}`, modelVersion: id, checkpoints: [{ step: ctx.job.params.steps, modelVersion: id }] };
  });
  handlers.register('evaluation', async (ctx) => {
    maybeKill(config, 'evaluate', true);
    fail('evaluation');
    // the loop's evidence: the PPO run to choose a checkpoint from and the judge RM
    const iteration = iterationOf(ctx.job.idempotencyKey);
    if (ctx.job.params.runId !== `run-${iteration}` || ctx.job.params.judgeModelVersion !== `judge-${iteration}`) {
      throw Object.assign(new Error(`evaluation handler: runId ${ctx.job.params.runId} / judgeModelVersion ${ctx.job.params.judgeModelVersion} are not this iteration's`), { retriable: false });
    }
    if (config.evaluatorShape) return { evaluationId: `ev-${ctx.job.params.candidate}`, reportPath: 'reports/x.md', verdicts: { reference: config.verdict, naive: 'pass' } };
    return { verdict: config.verdict, gateDecisionId: null, chosenCandidate: ctx.job.params.candidate, metrics: { winRate: 0.6 } };
  });
  const worker = new JobWorker(jobRepository, bus, handlers, { leaseMs: 400, pollIntervalMs: 30, retryBackoff: { initialMs: 10, maxMs: 50 }, stopGraceMs: 5000, logger });
  await worker.start();

  const transitions: string[] = [];
  const registry = new Registry();
  let canaryModel: string | null = null;
  const outage = mulberry32(config.seed + 77);
  const transactions: typeof repos.transactions = config.flaky
    ? { run: (work) => (outage() < 0.25 ? Promise.reject(Object.assign(new Error('database unavailable (simulated)'), { retriable: true })) : repos.transactions.run(work)) }
    : repos.transactions;
  const orchestratorBus: Pick<typeof bus, 'publish'> = config.flaky
    ? { publish: (topic, records) => (outage() < 0.33 ? Promise.reject(new Error('bus unavailable (simulated)')) : bus.publish(topic, records)) }
    : bus;
  const deps: ConstructorParameters<typeof Orchestrator>[0] = {
    transactions,
    jobs: queue,
    bus: orchestratorBus,
    jobsById: async (ids) => Promise.all(ids.map((id) => queue.get(id))),
    countNewPairs: () => new DatasetService(repos, artifacts).newPairsSinceNewestSnapshot(),
    readinessCheckMs: 0,
    leaseMs: 400,
    minNewPairs: config.minNewPairs ?? 0,
    snapshot: async (filters) => {
      const snap = await createSnapshot(repos, artifacts, filters);
      const prompts = await freezeRlPromptSet({ completions: repos.completions, artifacts }, { to: filters.to, evalSuites: EVAL_SUITES, minPrompts: config.minRlPrompts ?? 1 });
      return { id: snap.id, pairs: snap.manifest.counts.train as number, promptSetId: prompts.id, prompts: prompts.prompts.length };
    },
    observeCanary: canaryObserver({ feedback: repos.feedback, completions: repos.completions }),
    metrics: new LoopMetrics(registry, { latest: async () => (await repos.loopIterations.list(1))[0] ?? null, stuckAfterSeconds: 600, canaryTimeLimitSeconds: 3600, canaryWeight: 0.1, canaryAlpha: 0.05 }),
    options: {
      rewardModel: { seed: config.seed },
      minRmHeldoutAccuracy: 0.6,
      ppo: { steps: 4, seed: config.seed },
      evaluationSuites: ['helpfulness'],
      canary: { ...DEFAULT_CANARY_POLICY, minSamples: 20, maxSamples: 600, weight: 0.1, timeLimitMs: 3_600_000, pollMs: 0 },
      jobPollMs: 20,
    },
    // the canary's wait between looks is where simulated users send the next batch
    sleep: async (ms) => {
      if (ms === 0 && canaryModel) await simulateUsers(repos, config, canaryModel);
      else await new Promise((r) => setTimeout(r, ms));
    },
    onTransition: (it) => {
      transitions.push(it.state);
      if (it.state === 'canary') canaryModel = it.candidateModelId;
      onTransition?.(it);
      if (it.state !== 'paused') maybeKill(config, it.state, false);
    },
  };
  const orchestrator = new Orchestrator(deps);
  // a resumed canary needs to know its model before the first look
  const [open] = await repos.loopIterations.findUnfinished();
  if (open?.state === 'canary') canaryModel = open.candidateModelId;

  return {
    ds,
    repos,
    queue,
    orchestrator,
    spawnOrchestrator: (owner) => new Orchestrator({ ...deps, owner }),
    transitions,
    registry,
    async close() {
      await worker.stop();
      await bus.close();
      await ds.destroy();
    },
  };
}

/** Tick until the unfinished iteration is done (or waiting for review / paused). */
export async function runToRest(world: World): Promise<LoopIterationRecord> {
  for (let i = 0; i < 10_000; i++) {
    const outcome = await world.orchestrator.tick();
    const [open] = await world.repos.loopIterations.findUnfinished();
    if (!open) return (await world.repos.loopIterations.list(1))[0]!;
    if (open.state === 'paused' || (open.state === 'gate' && open.steps.gate?.outputs.verdict === 'needs_review' && !open.steps.gate.outputs.review)) return open;
    // a lapsed lease of a killed predecessor: wait for the database to say it is free
    if (outcome === 'standby' || outcome === 'retry') await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the iteration did not come to rest');
}

/** What must be equal between an interrupted and an uninterrupted run: the iteration's
 *  record with its own id, start time and (time-bounded) snapshot id written generically. */
export function resultOf(it: LoopIterationRecord): unknown {
  const steps: Record<string, unknown> = {};
  // job ids are random per run (like the step's jobId, which is left out too)
  for (const [name, rec] of Object.entries(it.steps)) steps[name] = { inputs: rec!.inputs, outputs: { ...rec!.outputs, judgeJobId: undefined } };
  const text = JSON.stringify({ state: it.state, snapshotId: it.snapshotId, rewardModelId: it.rewardModelId, candidateModelId: it.candidateModelId, error: it.error, steps });
  return JSON.parse(text.split(it.id).join('<iteration>').split(it.createdAt.toISOString()).join('<start>').split(it.snapshotId ?? '<none>').join('<snapshot>'));
}
