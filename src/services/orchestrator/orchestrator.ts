// The orchestrator: who runs the loop (a lease in the database, so one process at a
// time across any number of them, and a dead one's successor takes over when its
// lease lapses), when an iteration starts (cron, data readiness, manual), and the
// admin actions (pause/resume, approve/reject a needs_review gate, roll back, pin).
// Framework-free: the Nest module (orchestrator.module.ts) wires it and its timers.
import { randomUUID } from 'node:crypto';
import type { JobRecord } from '../../domain/jobs.js';
import {
  assertLegalAction,
  IllegalLoopActionError,
  isTerminalLoopState,
  LOOP_STEPS,
  type LoopIterationRecord,
  type LoopState,
  type LoopTrigger,
} from '../../domain/loop.js';
import type { CanaryObservation, CanaryVerdict } from '../../evaluation/canary/canary-verdict.js';
import { Logger } from '../../platform/logging/logger.js';
import { LoopIterationConflictError } from '../../platform/persistence/repositories/loop-iteration.repository.js';
import type { LoopMetrics } from './loop-metrics.js';
import { LeaseLostError, LOOP_LEASE, LoopRunner, StaleIterationError, type LoopRunnerDeps } from './loop-runner.js';

export interface OrchestratorDeps extends Omit<LoopRunnerDeps, 'owner' | 'onCanaryVerdict'> {
  /** told of every start, transition and canary look (the role's Prometheus metrics) */
  metrics?: Pick<LoopMetrics, 'transitioned' | 'canaryLooked'>;
  /** preference pairs the next snapshot would add to the newest one (the data-readiness trigger; it re-derives the pairs) */
  countNewPairs: () => Promise<number>;
  /** at most one data-readiness count per this many ms (a count re-derives every pair); default 60 s */
  readinessCheckMs?: number;
  jobsById: (ids: string[]) => Promise<JobRecord[]>;
  leaseMs: number;
  /** data-readiness threshold; 0 = off */
  minNewPairs: number;
  owner?: string;
}

/** No iteration can start now (one is unfinished, or the loop is paused). */
export class LoopBusyError extends Error {
  readonly code = 'loop_busy';
  readonly retriable = true;
  constructor(readonly state: string, message: string) {
    super(message);
    this.name = 'LoopBusyError';
  }
}

export class IterationNotFoundError extends Error {
  readonly code = 'iteration_not_found';
  readonly retriable = false;
  constructor(readonly iterationId: string) {
    super(`iteration ${iterationId} does not exist`);
    this.name = 'IterationNotFoundError';
  }
}

export type TickOutcome = 'standby' | 'paused' | 'idle' | 'drove' | 'started' | 'retry';

export class Orchestrator {
  readonly owner: string;
  private readonly log = new Logger('orchestrator');
  private readonly runner: LoopRunner;
  /** admin actions: compare-and-set writes from any process, no lease needed */
  private readonly admin: LoopRunner;
  private readonly verdicts = new Map<string, CanaryVerdict & { at: string }>();
  private ticking: Promise<TickOutcome> | null = null;

  constructor(private readonly deps: OrchestratorDeps) {
    this.owner = deps.owner ?? `orchestrator-${randomUUID()}`;
    const onCanaryVerdict = (id: string, v: CanaryVerdict, obs: CanaryObservation) => {
      this.verdicts.set(id, { ...v, at: new Date().toISOString() });
      deps.metrics?.canaryLooked(obs, v);
    };
    const onTransition = (it: LoopIterationRecord, from: LoopState) => {
      deps.metrics?.transitioned(it, from);
      deps.onTransition?.(it, from);
    };
    this.runner = new LoopRunner({ ...deps, owner: this.owner, onCanaryVerdict, onTransition });
    this.admin = new LoopRunner({ ...deps, owner: null, onCanaryVerdict, onTransition });
  }

  /** One pass: hold the lease, drive the unfinished iteration (at most `maxSteps` steps), or
   *  start one when data is ready. Never overlaps itself. */
  tick(maxSteps = Number.POSITIVE_INFINITY): Promise<TickOutcome> {
    this.ticking ??= this.tickOnce(maxSteps).finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async tickOnce(maxSteps: number): Promise<TickOutcome> {
    const { transactions } = this.deps;
    try {
      if (!(await transactions.run((tx) => tx.loopLeases.acquire(LOOP_LEASE, this.owner, this.deps.leaseMs)))) return 'standby';
      const unfinished = await transactions.run((tx) => tx.loopIterations.findUnfinished());
      const current = unfinished[0];
      if (current) {
        await this.runner.drive(current.id, maxSteps);
        return 'drove';
      }
      const lease = await transactions.run((tx) => tx.loopLeases.get(LOOP_LEASE));
      if (lease?.paused) return 'paused';
      if (this.deps.minNewPairs > 0 && this.readinessCheckDue() && (await this.deps.countNewPairs()) >= this.deps.minNewPairs) {
        const it = await this.trigger('data');
        await this.runner.drive(it.id, maxSteps);
        return 'started';
      }
      return 'idle';
    } catch (err) {
      // database or bus down, a lost lease, an admin action under a running step:
      // nothing was half-applied (each transition is one transaction), so try again later
      if (err instanceof LeaseLostError || err instanceof LoopIterationConflictError || err instanceof StaleIterationError || err instanceof LoopBusyError) {
        this.log.info('tick interrupted; next tick re-reads', { reason: err.message });
      } else {
        this.log.warn('tick failed; will retry', { error: err instanceof Error ? err.message : String(err) });
      }
      return 'retry';
    }
  }

  private lastReadinessCheck = Number.NEGATIVE_INFINITY;

  /** true at most once per readinessCheckMs: the count re-derives every preference pair */
  private readinessCheckDue(): boolean {
    const now = Date.now();
    if (now - this.lastReadinessCheck < (this.deps.readinessCheckMs ?? 60_000)) return false;
    this.lastReadinessCheck = now;
    return true;
  }

  /** Renew the lease (called on a timer while a long step runs); false when another process holds it. */
  renewLease(): Promise<boolean> {
    return this.deps.transactions.run((tx) => tx.loopLeases.acquire(LOOP_LEASE, this.owner, this.deps.leaseMs));
  }

  releaseLease(): Promise<void> {
    return this.deps.transactions.run((tx) => tx.loopLeases.release(LOOP_LEASE, this.owner));
  }

  /** Start an iteration (cron, data readiness, or an operator). 409 while one is unfinished or the loop is paused. */
  async trigger(trigger: LoopTrigger): Promise<LoopIterationRecord> {
    const now = new Date();
    const row: LoopIterationRecord = {
      id: `loop-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`,
      state: 'snapshot',
      stateHistory: [{ state: 'snapshot', at: now.toISOString(), detail: `triggered by ${trigger}` }],
      trigger,
      steps: {},
      pausedFrom: null,
      snapshotId: null,
      rewardModelId: null,
      candidateModelId: null,
      error: null,
      attempt: 0,
      revision: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.transactions.run(async (tx) => {
      // setPaused on the lease row takes its row lock: concurrent triggers serialise here
      const lease = await tx.loopLeases.get(LOOP_LEASE);
      await tx.loopLeases.setPaused(LOOP_LEASE, lease?.paused ?? false);
      if (lease?.paused) throw new LoopBusyError('paused', 'the loop is paused; resume it first');
      const [open] = await tx.loopIterations.findUnfinished();
      if (open) throw new LoopBusyError(open.state, `iteration ${open.id} is ${open.state}; one iteration runs at a time`);
      await tx.loopIterations.insert(row);
    });
    this.log.info('iteration triggered', { iteration: row.id, trigger });
    this.deps.metrics?.transitioned(row, null);
    return row;
  }

  async list(limit = 50): Promise<LoopIterationRecord[]> {
    return this.deps.transactions.run((tx) => tx.loopIterations.list(limit));
  }

  async get(id: string): Promise<LoopIterationRecord> {
    const it = await this.deps.transactions.run((tx) => tx.loopIterations.get(id));
    if (!it) throw new IterationNotFoundError(id);
    return it;
  }

  /** The iteration with each step's job row (state, attempts, progress, error) and the latest canary verdict. */
  async show(id: string): Promise<{ iteration: LoopIterationRecord; jobs: JobRecord[]; canary: (CanaryVerdict & { at: string }) | null }> {
    const iteration = await this.get(id);
    const ids = LOOP_STEPS.flatMap((s) => [iteration.steps[s]?.jobId, iteration.steps[s]?.outputs.judgeJobId]).filter((x): x is string => typeof x === 'string');
    return { iteration, jobs: await this.deps.jobsById(ids), canary: this.verdicts.get(id) ?? null };
  }

  /** The latest canary verdict of the running canary (for Argo Rollouts / Flagger), or null. */
  async canaryVerdict(): Promise<{ iteration: LoopIterationRecord; verdict: (CanaryVerdict & { at: string }) | null } | null> {
    const [open] = await this.deps.transactions.run((tx) => tx.loopIterations.findUnfinished());
    if (open?.state === 'canary') return { iteration: open, verdict: this.verdicts.get(open.id) ?? null };
    const newest = (await this.list(1))[0];
    return newest ? { iteration: newest, verdict: this.verdicts.get(newest.id) ?? null } : null;
  }

  /** Pause the loop: no trigger starts an iteration, and the unfinished one stops after its current job. */
  async pause(): Promise<LoopIterationRecord | null> {
    await this.deps.transactions.run((tx) => tx.loopLeases.setPaused(LOOP_LEASE, true));
    const [open] = await this.deps.transactions.run((tx) => tx.loopIterations.findUnfinished());
    if (!open || open.state === 'paused') return open ?? null;
    return this.act(open.id, 'pause', (it) => this.admin.commit(it, { pausedFrom: it.state }, 'paused', 'paused by an operator'));
  }

  async resume(): Promise<LoopIterationRecord | null> {
    await this.deps.transactions.run((tx) => tx.loopLeases.setPaused(LOOP_LEASE, false));
    const [open] = await this.deps.transactions.run((tx) => tx.loopIterations.findUnfinished());
    if (!open || open.state !== 'paused') return open ?? null;
    return this.act(open.id, 'resume', (it) => this.admin.commit(it, { pausedFrom: null }, it.pausedFrom ?? 'snapshot', 'resumed by an operator'));
  }

  /** An operator's answer to a needs_review gate. */
  review(id: string, answer: 'approved' | 'rejected', by: string): Promise<LoopIterationRecord> {
    return this.act(id, answer === 'approved' ? 'approve' : 'reject', (it) => {
      const gate = it.steps.gate!;
      const steps = { ...it.steps, gate: { ...gate, outputs: { ...gate.outputs, review: answer, reviewedBy: by } } };
      return this.admin.commitTransition(it, steps, answer === 'approved' ? 'canary' : 'rejected', `gate ${answer} by ${by}`);
    });
  }

  /** Force a rollback of a canary or a promoted iteration. */
  rollback(id: string, reason: string): Promise<LoopIterationRecord> {
    return this.act(id, 'rollback', (it) => this.admin.commitTransition(it, it.steps, 'rolled_back', `forced rollback: ${reason}`));
  }

  /** Serve `modelId` as production (no canary): the operator's override. It must have been production before. */
  async pin(modelId: string, reason: string): Promise<{ deploymentId: string }> {
    const deploymentId = `pin:${modelId}:${Date.now()}`;
    await this.deps.transactions.run(async (tx) => {
      const model = await tx.modelRegistry.get(modelId);
      if (!model) throw new IterationNotFoundError(modelId);
      // the safety invariant: only a version that already served production (passed
      // its gates and its canary) may be pinned; a rejected or unreleased one never
      if (model.status !== 'production' && model.status !== 'retired') {
        throw new IllegalLoopActionError(modelId, 'pin', 'failed', `model ${modelId} is ${model.status}; only a production or retired version can be pinned`);
      }
      const [open] = await tx.loopIterations.findUnfinished();
      if (open && !isTerminalLoopState(open.state) && open.state === 'canary') {
        throw new IllegalLoopActionError(open.id, 'pin', open.state, 'a canary is running; roll it back first');
      }
      await tx.deployments.insertIfAbsent({ id: deploymentId, productionModelId: modelId, canaryModelId: null, canaryWeight: 0, shadowModelId: null, reason: `pinned: ${reason}`, createdAt: new Date() });
    });
    await this.deps.bus.publish('outerloop.model-events', [
      { key: modelId, value: { v: 1, eventId: deploymentId, modelId, kind: 'deployment-changed', detail: { pinned: true, reason }, createdAt: new Date().toISOString() } },
    ]);
    return { deploymentId };
  }

  private async act(id: string, action: Parameters<typeof assertLegalAction>[1], apply: (it: LoopIterationRecord) => Promise<LoopIterationRecord>): Promise<LoopIterationRecord> {
    const it = await this.get(id);
    assertLegalAction(it, action);
    return apply(it);
  }
}
