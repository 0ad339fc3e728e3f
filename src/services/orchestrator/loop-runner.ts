// Executes the loop's state machine (src/domain/loop.ts) on one `loop_iterations` row.
// Each step is idempotent and each transition is one transaction:
// - a job step enqueues its job under `<iteration>:<step>` (the same key after a
//   crash returns the same job, so no step runs twice) and waits for the job's row;
//   train_rm has a second job, the judge RM, under `<iteration>:train_rm:judge`;
// - the step's outputs, the next state and any deployment change commit together, and
//   only if the row is still at the revision read and this process still holds the
//   lease (a stale orchestrator writes nothing);
// - model events are published after the commit and re-published on resume (their
//   ids are derived from the iteration, so a consumer sees a repeat as a duplicate).
import type { JobKind } from '../../domain/jobs.js';
import type { JsonObject } from '../../domain/json.js';
import {
  assertMayReceiveTraffic,
  isLoopStep,
  isTerminalLoopState,
  LOOP_GATE_VERDICTS,
  nextLoopState,
  rewardModelGate,
  stepJobKey,
  type LoopIterationRecord,
  type LoopState,
  type LoopStep,
} from '../../domain/loop.js';
import { canaryVerdict, type CanaryObservation, type CanaryPolicy, type CanaryVerdict } from '../../evaluation/canary/canary-verdict.js';
import type { JobQueue } from '../../platform/jobs/job-queue.js';
import { Logger } from '../../platform/logging/logger.js';
import type { EventBus } from '../../platform/messaging/event-bus.js';
import { EVENT_VERSION, Topic, type JobParamsInput } from '../../platform/messaging/events.js';
import type { ITransactionRunner, TransactionScope } from '../../platform/persistence/repositories/index.js';

export const LOOP_LEASE = 'loop';

/** What the snapshot step calls: freeze the preference data and the RL prompt set up to
 *  `to` (both content-addressed, so calling it again for the same iteration returns the same). */
export type Snapshotter = (filters: { to: string; heldoutFraction?: number }) => Promise<{ id: string; pairs: number; promptSetId: string; prompts: number }>;

/** What the canary analysis reads: live feedback and guard metrics since the canary started. */
export type CanaryObserver = (q: { canaryModelId: string; productionModelId: string; since: Date }) => Promise<CanaryObservation>;

export interface LoopStepOptions {
  /** reward_model job parameters besides the snapshot and the split (the step trains
   *  the proxy RM on `train` and the judge RM on `heldout` with these) */
  rewardModel: Omit<JobParamsInput<'reward_model'>, 'snapshotId' | 'split'>;
  /** the snapshot's held-out share (the RM gate's check pairs and the judge RM's data); unset: the snapshot default, 0.1 */
  snapshotHeldoutFraction?: number;
  /** the RM gate: the reward_model job's metrics.heldoutAccuracy must reach this */
  minRmHeldoutAccuracy: number;
  ppo: Omit<JobParamsInput<'ppo'>, 'rewardModelVersion' | 'promptSetId'>;
  evaluationSuites: string[];
  canary: CanaryPolicy & { weight: number; timeLimitMs: number; pollMs: number };
  /** how often a job's row is read while waiting for it */
  jobPollMs: number;
}

export interface LoopRunnerDeps {
  transactions: ITransactionRunner;
  jobs: Pick<JobQueue, 'enqueue' | 'get'>;
  bus: Pick<EventBus, 'publish'>;
  snapshot: Snapshotter;
  observeCanary: CanaryObserver;
  /** this process's lease owner id; every transition checks it still holds the lease.
   *  null for admin actions, which any process may take (compare-and-set only). */
  owner: string | null;
  options: LoopStepOptions;
  /** called after every committed write with the state it left (tests and the CLI print it; metrics count it) */
  onTransition?: (iteration: LoopIterationRecord, from: LoopState) => void;
  /** called with every canary look (the HTTP verdict endpoint serves the latest verdict; metrics show the observation) */
  onCanaryVerdict?: (iterationId: string, verdict: CanaryVerdict, observation: CanaryObservation) => void;
  /** waits between polls; tests may replace it */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

/** The lease moved to another orchestrator: stop driving, write nothing. */
export class LeaseLostError extends Error {
  readonly code = 'lease_lost';
  readonly retriable = false;
  constructor(owner: string) {
    super(`orchestrator ${owner} no longer holds the loop lease`);
    this.name = 'LeaseLostError';
  }
}

/** A step that cannot succeed (a failed job, a missing result field): the iteration fails. */
export class StepFailedError extends Error {
  readonly code = 'step_failed';
  readonly retriable = false;
  constructor(readonly step: LoopStep, reason: string) {
    super(`${step}: ${reason}`);
    this.name = 'StepFailedError';
  }
}

interface StepOutcome {
  jobId?: string;
  inputs: JsonObject;
  outputs: JsonObject;
}

const STEP_JOB_KINDS = { train_rm: 'reward_model', rl: 'ppo', evaluate: 'evaluation' } as const;

export class LoopRunner {
  private readonly log = new Logger('orchestrator');
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;

  constructor(private readonly deps: LoopRunnerDeps) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Drive the iteration until it finishes, pauses, waits for review, or this process
   * loses the lease. Transient errors (database or bus down) propagate to the caller,
   * which retries later: every step is safe to run again.
   */
  async drive(iterationId: string, maxSteps = Number.POSITIVE_INFINITY): Promise<LoopIterationRecord> {
    for (let steps = 0; ; steps++) {
      const it = await this.read(iterationId);
      if (steps >= maxSteps || isTerminalLoopState(it.state) || it.state === 'paused' || !isLoopStep(it.state)) return it;
      if (it.state === 'gate' && it.steps.gate?.outputs.verdict === 'needs_review' && it.steps.gate.outputs.review === undefined) return it;
      await this.republishEvents(it);
      let outcome: StepOutcome;
      try {
        outcome = await this.runStep(it, it.state);
      } catch (err) {
        if (err instanceof StepFailedError) {
          await this.fail(it, err.message);
          continue;
        }
        // an error that declares itself not retriable (a typed input error: too few prompts
        // in the step's fixed window, an unknown version) will fail the same way on every
        // retry — the same inputs give the same answer — so the iteration fails with it
        if ((err as { retriable?: unknown }).retriable === false) {
          await this.fail(it, `${it.state}: ${(err as Error).message}`);
          continue;
        }
        throw err;
      }
      await this.finishStep(it, it.state, outcome);
    }
  }

  private async read(id: string): Promise<LoopIterationRecord> {
    const it = await this.deps.transactions.run((tx) => tx.loopIterations.get(id));
    if (!it) throw new Error(`iteration ${id} does not exist`);
    return it;
  }

  private async runStep(it: LoopIterationRecord, step: LoopStep): Promise<StepOutcome> {
    const o = this.deps.options;
    switch (step) {
      case 'snapshot': {
        // the window ends when the iteration began: a resumed step snapshots the same data
        const held = o.snapshotHeldoutFraction;
        const inputs = { to: it.createdAt.toISOString(), ...(held !== undefined ? { heldoutFraction: held } : {}) };
        const snap = await this.deps.snapshot(inputs);
        return { inputs, outputs: { snapshotId: snap.id, pairs: snap.pairs, promptSetId: snap.promptSetId, prompts: snap.prompts } };
      }
      case 'train_rm': {
        // two reward models from one snapshot: the proxy RM (train split) that PPO
        // optimises and the RM gate checks, and the judge RM (held-out split) the
        // evaluator scores win rates with — a judge PPO never saw, so a hacked proxy
        // does not grade its own exam (ARCHITECTURE §6). Both jobs are enqueued before
        // either is awaited, so two trainer workers run them side by side.
        const snapshotId = requireString(it.steps.snapshot?.outputs.snapshotId, 'snapshot', 'snapshotId');
        const proxyParams = { ...o.rewardModel, snapshotId, split: 'train' } as const;
        // one member: the judge scores win rates, the ensemble's disagreement is the proxy's
        const judgeParams = { ...o.rewardModel, snapshotId, split: 'heldout', ensemble: 1 } as const;
        const proxyJob = await this.enqueue(it, step, proxyParams);
        const judgeJob = await this.enqueue(it, step, judgeParams, 'judge');
        const proxy = await this.awaitJob(step, proxyJob);
        const judge = await this.awaitJob(step, judgeJob);
        return {
          jobId: proxy.id,
          inputs: { ...proxyParams, judge: judgeParams },
          outputs: {
            rewardModelVersion: requireString(proxy.result.modelVersion, step, 'result.modelVersion'),
            metrics: rewardModelMetrics(proxy.result, step, 'result'),
            judgeJobId: judge.id,
            judgeModelVersion: requireString(judge.result.modelVersion, step, 'judge result.modelVersion'),
            judgeMetrics: rewardModelMetrics(judge.result, step, 'judge result'),
          },
        };
      }
      case 'rm_gate': {
        const metrics = (it.steps.train_rm?.outputs.metrics ?? {}) as JsonObject;
        const gate = rewardModelGate(metrics, o.minRmHeldoutAccuracy);
        return { inputs: { rewardModelVersion: it.steps.train_rm?.outputs.rewardModelVersion ?? null, minHeldoutAccuracy: o.minRmHeldoutAccuracy }, outputs: { ...gate } };
      }
      case 'rl': {
        const rewardModelVersion = requireString(it.steps.train_rm?.outputs.rewardModelVersion, 'train_rm', 'rewardModelVersion');
        const promptSetId = requireString(it.steps.snapshot?.outputs.promptSetId, 'snapshot', 'promptSetId');
        return this.runJob(it, step, { ...o.ppo, rewardModelVersion, promptSetId }, (r) => ({
          // the trainer's ppo job names its run `trainingRunId` (the training_runs row the evaluator reads)
          runId: requireString(r.runId ?? r.trainingRunId, step, 'result.runId (or result.trainingRunId)'),
          modelVersion: requireString(r.modelVersion, step, 'result.modelVersion'),
          checkpoints: Array.isArray(r.checkpoints) ? r.checkpoints : [],
        }));
      }
      case 'evaluate': {
        const candidate = requireString(it.steps.rl?.outputs.modelVersion, 'rl', 'modelVersion');
        const rewardModelVersion = requireString(it.steps.train_rm?.outputs.rewardModelVersion, 'train_rm', 'rewardModelVersion');
        const runId = requireString(it.steps.rl?.outputs.runId, 'rl', 'runId');
        const judgeModelVersion = requireString(it.steps.train_rm?.outputs.judgeModelVersion, 'train_rm', 'judgeModelVersion');
        return this.runJob(it, step, { candidate, rewardModelVersion, runId, judgeModelVersion, suites: o.evaluationSuites }, (r) => {
          const { verdict, gateDecisionId } = gateVerdictOf(r);
          if (!(LOOP_GATE_VERDICTS as readonly unknown[]).includes(verdict)) {
            throw new StepFailedError(step, `result.verdict must be one of ${LOOP_GATE_VERDICTS.join(', ')}, got ${JSON.stringify(verdict)}`);
          }
          return {
            verdict,
            gateDecisionId,
            // the checkpoint chosen by eval (ARCHITECTURE §6), else the run's final one
            candidate: typeof r.chosenCandidate === 'string' ? r.chosenCandidate : candidate,
            metrics: (r.metrics as JsonObject | undefined) ?? {},
          };
        });
      }
      case 'gate': {
        const ev = it.steps.evaluate?.outputs ?? {};
        return { inputs: { gateDecisionId: ev.gateDecisionId ?? null }, outputs: { verdict: ev.verdict ?? null, candidate: ev.candidate ?? null } };
      }
      case 'canary':
        return this.runCanary(it);
    }
  }

  private async runJob(it: LoopIterationRecord, step: keyof typeof STEP_JOB_KINDS, params: JsonObject, read: (result: JsonObject) => JsonObject): Promise<StepOutcome> {
    const job = await this.enqueue(it, step, params);
    const done = await this.awaitJob(step, job);
    return { jobId: done.id, inputs: params, outputs: read(done.result) };
  }

  /** The step's job under its key `<iteration>:<step>[:<part>]` (the same job after a crash). */
  private async enqueue(it: LoopIterationRecord, step: keyof typeof STEP_JOB_KINDS, params: JsonObject, part?: string): Promise<{ id: string; kind: JobKind }> {
    const kind = STEP_JOB_KINDS[step];
    const { job } = await this.deps.jobs.enqueue(kind, params as never, { idempotencyKey: stepJobKey(it.id, step, part) });
    return { id: job.id, kind };
  }

  /** Wait for the job's row to say it succeeded; a failed or cancelled job fails the step. */
  private async awaitJob(step: LoopStep, job: { id: string; kind: JobKind }): Promise<{ id: string; result: JsonObject }> {
    for (;;) {
      const row = await this.deps.jobs.get(job.id);
      if (row.state === 'succeeded') return { id: row.id, result: row.result ?? {} };
      if (row.state === 'failed' || row.state === 'cancelled') throw new StepFailedError(step, `job ${row.id} (${job.kind}) ${row.state}: ${row.error ?? 'no error recorded'}`);
      await this.sleep(this.deps.options.jobPollMs);
    }
  }

  /** Watch live feedback until the canary's verdict is promote or rollback. */
  private async runCanary(it: LoopIterationRecord): Promise<StepOutcome> {
    const deployment = await this.deps.transactions.run((tx) => tx.deployments.get(canaryDeploymentId(it.id)));
    if (!deployment?.canaryModelId) throw new StepFailedError('canary', `deployment ${canaryDeploymentId(it.id)} is missing`);
    const policy = this.deps.options.canary;
    const since = deployment.createdAt;
    for (;;) {
      const current = await this.read(it.id);
      if (current.revision !== it.revision) throw new StaleIterationError(it.id); // an admin acted: re-read
      const obs = await this.deps.observeCanary({ canaryModelId: deployment.canaryModelId, productionModelId: deployment.productionModelId, since });
      const verdict = canaryVerdict(obs, policy, this.now().getTime() - since.getTime(), policy.timeLimitMs);
      this.deps.onCanaryVerdict?.(it.id, verdict, obs);
      if (verdict.decision !== 'continue') {
        return {
          inputs: { deploymentId: deployment.id, canaryModelId: deployment.canaryModelId, productionModelId: deployment.productionModelId, weight: deployment.canaryWeight },
          outputs: {
            decision: verdict.decision,
            reason: verdict.reason,
            samples: verdict.samples,
            thumbs: { ...obs.thumbs },
            pairwise: { ...obs.pairwise },
            thumbsPValue: verdict.thumbs.pValue,
            pairwisePValue: verdict.pairwise.pValue,
          },
        };
      }
      await this.sleep(policy.pollMs);
    }
  }

  /** Record the step and move to the next state, with the deployment change it implies, in one transaction. */
  private async finishStep(it: LoopIterationRecord, step: LoopStep, outcome: StepOutcome): Promise<void> {
    const at = this.now();
    const steps = { ...it.steps, [step]: { ...(outcome.jobId ? { jobId: outcome.jobId } : {}), inputs: outcome.inputs, outputs: outcome.outputs, finishedAt: at.toISOString() } };
    const next = nextLoopState(step, outcome.outputs);
    if (next === 'await_review') {
      await this.commit(it, { steps }, null, `gate needs review`);
      return;
    }
    await this.commitTransition(it, steps, next, detailOf(step, outcome.outputs));
  }

  /** The transition with its side effects on the registry and the deployments. */
  async commitTransition(it: LoopIterationRecord, steps: LoopIterationRecord['steps'], next: LoopState, detail: string, extra: Partial<LoopIterationRecord> = {}): Promise<LoopIterationRecord> {
    const fields: Partial<LoopIterationRecord> = { steps, ...extra };
    if (next === 'train_rm') fields.snapshotId = steps.snapshot?.outputs.snapshotId as string;
    if (next === 'rm_gate') fields.rewardModelId = steps.train_rm?.outputs.rewardModelVersion as string;
    if (next === 'evaluate') fields.candidateModelId = steps.rl?.outputs.modelVersion as string;
    if (next === 'gate' && typeof steps.evaluate?.outputs.candidate === 'string') fields.candidateModelId = steps.evaluate.outputs.candidate;
    const updated = await this.commit(it, fields, next, detail, async (tx, row) => {
      if (next === 'canary') await startCanary(tx, row, this.deps.options.canary.weight, at(this.now));
      if (next === 'promoted') await promote(tx, row, at(this.now));
      if (next === 'rolled_back') await rollBack(tx, row, at(this.now), detail);
      if (next === 'rejected' && row.candidateModelId && it.state === 'gate') await rejectCandidate(tx, row.candidateModelId);
    });
    await this.republishEvents(updated);
    return updated;
  }

  async fail(it: LoopIterationRecord, reason: string): Promise<LoopIterationRecord> {
    this.log.warn('iteration failed', { iteration: it.id, state: it.state, reason });
    // a failure during the canary takes the canary down: production stays what it was
    const updated = await this.commit(it, { error: reason }, 'failed', reason, async (tx, row) => {
      if (it.state === 'canary') await rollBack(tx, row, at(this.now), `failed: ${reason}`);
    });
    await this.republishEvents(updated);
    return updated;
  }

  /** One transaction: lease check, compare-and-set write of the row, side effects. */
  async commit(
    it: LoopIterationRecord,
    fields: Partial<LoopIterationRecord>,
    next: LoopState | null,
    detail: string,
    effects?: (tx: TransactionScope, row: LoopIterationRecord) => Promise<void>,
  ): Promise<LoopIterationRecord> {
    const now = this.now();
    const row: LoopIterationRecord = {
      ...it,
      ...fields,
      state: next ?? it.state,
      stateHistory: next ? [...it.stateHistory, { state: next, at: now.toISOString(), detail }] : it.stateHistory,
      revision: it.revision + 1,
      updatedAt: now,
    };
    await this.deps.transactions.run(async (tx) => {
      if (this.deps.owner !== null) {
        const lease = await tx.loopLeases.get(LOOP_LEASE);
        if (lease?.owner !== this.deps.owner) throw new LeaseLostError(this.deps.owner);
      }
      await effects?.(tx, row);
      await tx.loopIterations.update(row);
    });
    if (next) this.log.info('iteration transition', { iteration: it.id, from: it.state, to: next, detail });
    this.deps.onTransition?.(row, it.state);
    return row;
  }

  /**
   * Model events for the deployment the iteration's state implies (ids derived from the
   * iteration, so a repeat is a duplicate to consumers). The deployments row is the
   * truth and the gateway also polls it, so a bus that is down delays the hot swap
   * but never blocks the loop: the failure is logged, and the event is published again
   * on the next step of a running iteration.
   */
  async republishEvents(it: LoopIterationRecord): Promise<void> {
    const events = modelEventsOf(it);
    if (!events.length) return;
    try {
      await this.deps.bus.publish(Topic.modelEvents, events.map((value) => ({ key: value.modelId, value })));
    } catch (err) {
      this.log.warn('model event not published (the gateway still finds the deployment by polling)', { iteration: it.id, state: it.state, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** The iteration changed under a long-running step (an admin action): drive it again. */
export class StaleIterationError extends Error {
  readonly code = 'stale_iteration';
  readonly retriable = true;
  constructor(iterationId: string) {
    super(`iteration ${iterationId} changed while its step ran; re-reading it`);
    this.name = 'StaleIterationError';
  }
}

function at(now: () => Date): Date {
  return now();
}

export function canaryDeploymentId(iterationId: string): string {
  return `${iterationId}:canary`;
}

function endDeploymentId(iterationId: string, outcome: 'promoted' | 'rolled_back'): string {
  return `${iterationId}:${outcome}`;
}

async function startCanary(tx: TransactionScope, it: LoopIterationRecord, weight: number, now: Date): Promise<void> {
  const candidate = it.candidateModelId;
  if (!candidate) throw new StepFailedError('gate', 'no candidate model to deploy');
  assertMayReceiveTraffic(it, candidate); // the safety invariant, where deployments change
  const current = await tx.deployments.current();
  if (!current) throw new StepFailedError('gate', 'no production deployment to run a canary against');
  const model = await tx.modelRegistry.get(candidate);
  if (!model) throw new StepFailedError('gate', `candidate ${candidate} is not in the model registry`);
  if (model.status === 'candidate') await tx.modelRegistry.transition(candidate, 'canary');
  await tx.deployments.insertIfAbsent({
    id: canaryDeploymentId(it.id),
    productionModelId: current.productionModelId,
    canaryModelId: candidate,
    canaryWeight: weight,
    shadowModelId: null,
    reason: `iteration ${it.id}: canary of ${candidate} at ${Math.round(weight * 100)}%`,
    createdAt: now,
  });
}

async function promote(tx: TransactionScope, it: LoopIterationRecord, now: Date): Promise<void> {
  const canary = await tx.deployments.get(canaryDeploymentId(it.id));
  const candidate = it.candidateModelId;
  if (!canary || !candidate) throw new StepFailedError('canary', 'promotion without a canary deployment');
  assertMayReceiveTraffic(it, candidate);
  const old = await tx.modelRegistry.get(canary.productionModelId);
  // the old production is retired, not deleted: its artifact stays for a rollback
  if (old?.status === 'production') await tx.modelRegistry.transition(old.id, 'retired');
  await tx.modelRegistry.transition(candidate, 'production');
  await tx.deployments.insertIfAbsent({
    id: endDeploymentId(it.id, 'promoted'),
    productionModelId: candidate,
    canaryModelId: null,
    canaryWeight: 0,
    shadowModelId: null,
    reason: `iteration ${it.id}: promoted ${candidate} (retired ${canary.productionModelId})`,
    createdAt: now,
  });
}

/** Back to the production the canary ran against (from a canary or after a promotion). */
async function rollBack(tx: TransactionScope, it: LoopIterationRecord, now: Date, reason: string): Promise<void> {
  const canary = await tx.deployments.get(canaryDeploymentId(it.id));
  if (!canary) return; // nothing was deployed
  const candidate = canary.canaryModelId;
  if (candidate) {
    const model = await tx.modelRegistry.get(candidate);
    if (model?.status === 'canary') await tx.modelRegistry.transition(candidate, 'rejected');
    if (model?.status === 'production') await tx.modelRegistry.transition(candidate, 'retired');
  }
  await tx.deployments.insertIfAbsent({
    id: endDeploymentId(it.id, 'rolled_back'),
    productionModelId: canary.productionModelId,
    canaryModelId: null,
    canaryWeight: 0,
    shadowModelId: null,
    reason: `iteration ${it.id}: rolled back ${candidate ?? ''} (${reason})`,
    createdAt: now,
  });
}

async function rejectCandidate(tx: TransactionScope, candidate: string): Promise<void> {
  const model = await tx.modelRegistry.get(candidate);
  if (model?.status === 'candidate') await tx.modelRegistry.transition(candidate, 'rejected');
}

function modelEventsOf(it: LoopIterationRecord) {
  const candidate = it.candidateModelId;
  if (!candidate) return [];
  const kind = it.state === 'canary' ? 'canary' : it.state === 'promoted' ? 'promoted' : it.state === 'rolled_back' ? 'rolled-back' : null;
  if (!kind) return [];
  return [{ v: EVENT_VERSION, eventId: `${it.id}:${kind}`, modelId: candidate, kind, detail: { iteration: it.id }, createdAt: it.updatedAt.toISOString() } as const];
}

function detailOf(step: LoopStep, outputs: JsonObject): string {
  if (step === 'rm_gate' || step === 'canary') return String(outputs.reason ?? '');
  if (step === 'gate') return `verdict ${String(outputs.verdict)}${outputs.review ? ` (${String(outputs.review)} by an operator)` : ''}`;
  return `${step} done`;
}

/**
 * The verdict in an `evaluation` job's result: `verdict` (+ `gateDecisionId`) as
 * docs/orchestrator.md defines it, or the evaluator's `{ evaluationId, verdicts: {
 * <policy>: verdict } }`, whose first entry is the configured gate policy (the naive
 * policy follows it for comparison) and whose decision id is `<evaluationId>:<policy>`.
 */
function gateVerdictOf(r: JsonObject): { verdict: unknown; gateDecisionId: string | null } {
  if (r.verdict !== undefined) return { verdict: r.verdict, gateDecisionId: typeof r.gateDecisionId === 'string' ? r.gateDecisionId : null };
  const verdicts = r.verdicts;
  if (typeof verdicts === 'object' && verdicts !== null && !Array.isArray(verdicts)) {
    const [first] = Object.entries(verdicts);
    if (first) return { verdict: first[1], gateDecisionId: typeof r.evaluationId === 'string' ? `${r.evaluationId}:${first[0]}` : null };
  }
  return { verdict: undefined, gateDecisionId: null };
}

/**
 * What the RM gate reads from a reward_model job's result: the trainer's flat result
 * (`heldOutAccuracy`, its own RM quality gate's verdict `gate`, the version's `status`),
 * or a `metrics` object with `heldoutAccuracy` (docs/orchestrator.md).
 */
function rewardModelMetrics(r: JsonObject, step: LoopStep, at: string): JsonObject {
  // the trainer's result carries both: its figures in `metrics` and its verdict and the
  // version's status beside them — the verdict must survive, or a rejected RM reaches PPO
  const out: JsonObject = r.metrics !== undefined ? { ...requireObject(r.metrics, step, `${at}.metrics`) } : {};
  if (typeof out.heldoutAccuracy !== 'number') {
    if (typeof r.heldOutAccuracy !== 'number') throw new StepFailedError(step, `${at}.heldOutAccuracy must be a number, got ${JSON.stringify(r.heldOutAccuracy)}`);
    out.heldoutAccuracy = r.heldOutAccuracy;
  }
  for (const key of ['hardPairAccuracy', 'status'] as const) if (r[key] !== undefined && r[key] !== null) out[key] = r[key];
  if (typeof r.gate === 'string') out.qualityGate = r.gate;
  return out;
}

function requireString(value: unknown, step: LoopStep, field: string): string {
  if (typeof value !== 'string' || !value) throw new StepFailedError(step, `${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function requireObject(value: unknown, step: LoopStep, field: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StepFailedError(step, `${field} must be an object, got ${JSON.stringify(value)}`);
  return value as JsonObject;
}
