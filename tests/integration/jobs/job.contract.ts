// The durable-job contract (src/platform/jobs, docs/jobs.md), defined once and run
// unchanged on both modes: embedded (SQLite + the database-backed bus,
// embedded.test.ts) and distributed (PostgreSQL + Kafka, distributed.test.ts).
// Every test gets a fresh database and its own topic prefix (the jobs table is the
// queue, so tests must not see each other's jobs). Tests gate on what the workers
// report (rows, events, stdout of a child), never on sleeps; timeouts are a safety net.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { IdempotencyConflictError, type JobRecord } from '../../../src/platform/jobs/job-repository.js';
import { InvalidJobError, JobCancelledError, JobNotFoundError } from '../../../src/platform/jobs/errors.js';
import { JobHandlers, type JobContext } from '../../../src/platform/jobs/job-handlers.js';
import type { DeadLetterMessage, Subscription } from '../../../src/platform/messaging/event-bus.js';
import { EVENT_VERSION, Topic, type JobEvent, type JobParamsInput, type JobProgressEvent, type JobStateEvent, type TopicName } from '../../../src/platform/messaging/events.js';
import { uniquePrefix, waitFor } from '../support/services.js';
import { openNode, type JobNode, type NodeConfig } from './node.js';
import { CHECKPOINT_FILE, type WorkerChildConfig } from './child-config.js';

export interface JobModeHarness {
  /** a fresh, migrated database and a new topic prefix: one test's stores */
  newStores(label: string): Promise<NodeConfig>;
  /** drop what newStores created (the database, Kafka topics) */
  dropStores(config: NodeConfig): Promise<void>;
  /** nodes in this test process share one connection (embedded SQLite; see openNode) */
  oneConnectionPerProcess: boolean;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'worker-child.js');

function evaluation(candidate: string): JobParamsInput<'evaluation'> {
  return { candidate, suites: ['facts', 'refusals'] };
}

/** Everything published on `outerloop.job-events`, by job. */
class JobEventLog {
  readonly events: JobEvent[] = [];
  states(jobId: string): string[] {
    return this.events.filter((e): e is JobStateEvent => e.jobId === jobId && e.type === 'state').map((e) => `${e.state}@${e.attempt}`);
  }
  progress(jobId: string): JobProgressEvent[] {
    return this.events.filter((e): e is JobProgressEvent => e.jobId === jobId && e.type === 'progress');
  }
}

async function readDeadLetters(node: JobNode, topic: TopicName, count: number): Promise<DeadLetterMessage[]> {
  const letters: DeadLetterMessage[] = [];
  const sub = await node.bus.subscribeDeadLetters({ topic, groupId: uniquePrefix('dlqreader'), handleBatch: async (batch) => void letters.push(...batch) });
  try {
    await waitFor(`${count} dead letters on ${topic}.dlq`, () => letters.length >= count, 60_000);
    return letters;
  } finally {
    await sub.stop();
  }
}

/** Wait until a job reaches `state`; fails with the row as last seen. */
function waitForState(node: JobNode, jobId: string, state: JobRecord['state'], timeoutMs = 60_000): Promise<JobRecord> {
  return waitFor(`job ${jobId} ${state}`, async () => {
    const job = await node.queue.get(jobId);
    return job.state === state ? job : null;
  }, timeoutMs, 25);
}

/** A promise with its resolver, for gating a test on what a handler reached. */
function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A handler that runs until its signal aborts, then rejects with the reason. */
function untilAborted(ctx: JobContext): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (ctx.signal.aborted) reject(ctx.signal.reason as Error);
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
  });
}

export function jobContract(tag: string, harness: () => JobModeHarness): void {
  describe(`${tag} durable job contract`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    /** fresh stores, `count` nodes on them (each like its own process) and a job-event log */
    async function setup(label: string, count = 1): Promise<{ nodes: JobNode[]; config: NodeConfig; events: JobEventLog }> {
      const h = harness();
      const config = await h.newStores(label);
      cleanups.push(() => h.dropStores(config));
      const nodes: JobNode[] = [];
      for (let i = 0; i < count; i++) {
        const node = await openNode(config, undefined, h.oneConnectionPerProcess ? nodes[0]?.dataSource : undefined);
        nodes.push(node);
        cleanups.push(() => node.close());
      }
      const events = new JobEventLog();
      const sub: Subscription = await nodes[0]!.bus.subscribe({
        topic: Topic.jobEvents,
        groupId: 'event-log',
        fromBeginning: true,
        handleBatch: async (batch) => void events.events.push(...batch.map((m) => m.value)),
      });
      cleanups.push(() => sub.stop());
      return { nodes, config, events };
    }

    it(`${tag} enqueue → a worker runs it → succeeded with its result; progress and states streamed`, { timeout: 120_000 }, async () => {
      const { nodes: [node], events } = await setup('run');
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => {
        for (let step = 1; step <= 3; step++) {
          await ctx.progress({ step, total: 3, loss: 1 / step, metrics: { accuracy: step / 3 }, tokensPerSecond: 1000 });
        }
        return { candidate: ctx.job.params.candidate, suites: ctx.job.params.suites, seed: ctx.job.params.seed, attempt: ctx.attempt };
      });
      await node!.startWorker(handlers);

      const { job, created } = await node!.queue.enqueue('evaluation', evaluation('policy-v2'));
      assert.equal(created, true);
      assert.equal(job.kind, 'evaluation');
      assert.deepEqual(job.params, { candidate: 'policy-v2', suites: ['facts', 'refusals'], seed: 0 }, 'stored with the schema defaults');

      const done = await waitForState(node!, job.id, 'succeeded');
      assert.deepEqual(done.result, { candidate: 'policy-v2', suites: ['facts', 'refusals'], seed: 0, attempt: 1 });
      assert.equal(done.attempts, 1);
      assert.equal(done.error, null);
      assert.equal(done.leaseOwner, null, 'the lease is released');
      assert.ok(done.startedAt && done.finishedAt && done.finishedAt >= done.startedAt);
      assert.equal(done.progress?.step, 3);

      await waitFor('the succeeded event', () => events.states(job.id).includes('succeeded@1'));
      // the queue and the worker publish independently; the worker's own events are in order
      assert.ok(events.states(job.id).includes('queued@0'), `states: ${events.states(job.id).join(', ')}`);
      assert.deepEqual(events.states(job.id).filter((s) => s !== 'queued@0'), ['running@1', 'succeeded@1']);
      const progress = events.progress(job.id);
      assert.deepEqual(progress.map((p) => [p.step, p.total, p.loss, p.metrics.accuracy, p.tokensPerSecond]), [
        [1, 3, 1, 1 / 3, 1000],
        [2, 3, 0.5, 2 / 3, 1000],
        [3, 3, 1 / 3, 1, 1000],
      ]);
      assert.equal(progress[0]!.etaSeconds, null, 'no rate yet at the first report');
      assert.equal(progress[2]!.etaSeconds, 0, 'nothing left at the last step');
      assert.equal(progress[0]!.attempt, 1);
    });

    it(`${tag} a job whose wake-up was lost is found by polling`, { timeout: 120_000 }, async () => {
      const { nodes: [node] } = await setup('lostwake');
      const wakeUps: string[] = [];
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => ({ candidate: ctx.job.params.candidate }));
      await node!.startWorker(handlers, { pollIntervalMs: 200, observer: { wakeUp: (m) => wakeUps.push(m.jobId) } });
      // the row alone, as if the process died between the insert and the wake-up
      const { job } = await node!.repository.insert({ id: 'no-wake-up', kind: 'evaluation', params: { candidate: 'quiet', suites: ['facts'], seed: 0 }, idempotencyKey: null, maxAttempts: 3 });
      const done = await waitForState(node!, job.id, 'succeeded');
      assert.deepEqual(done.result, { candidate: 'quiet' });
      assert.deepEqual(wakeUps, [], 'no wake-up was ever sent');
    });

    it(`${tag} an idempotency key dedupes: one row, one run, even under concurrent enqueues from two nodes`, { timeout: 120_000 }, async () => {
      const { nodes: [a, b] } = await setup('idem', 2);
      const runs = new Map<string, number>();
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => {
        runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1);
        return { ok: true };
      });
      const key = 'iteration-7:evaluate';
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a! : b!).queue.enqueue('evaluation', evaluation('policy-v7'), { idempotencyKey: key })));
      assert.equal(results.filter((r) => r.created).length, 1, 'exactly one enqueue created the job');
      assert.equal(new Set(results.map((r) => r.job.id)).size, 1, 'every caller got the same job');
      const id = results[0]!.job.id;

      await a!.startWorker(handlers);
      await waitForState(a!, id, 'succeeded');
      // a resumed orchestrator enqueues the step again: it gets the finished job back
      const again = await b!.queue.enqueue('evaluation', evaluation('policy-v7'), { idempotencyKey: key });
      assert.equal(again.created, false);
      assert.equal(again.job.id, id);
      assert.equal(again.job.state, 'succeeded');
      await assert.rejects(a!.queue.enqueue('reward_model', { snapshotId: 'snap-1' }, { idempotencyKey: key }), (err: unknown) => {
        assert.ok(err instanceof IdempotencyConflictError, String(err));
        assert.match(err.message, /iteration-7:evaluate.*evaluation job/);
        return true;
      });
      // gate: a later job has run (the worker takes jobs oldest first), so a duplicate run would have happened by now
      const marker = await a!.queue.enqueue('evaluation', evaluation('marker'));
      await waitForState(a!, marker.job.id, 'succeeded');
      assert.equal(runs.get(id), 1, 'the deduplicated job ran once');
      assert.equal((await a!.queue.list()).length, 2, 'two rows: the keyed job and the marker');
    });

    it(`${tag} bad parameters are rejected naming the field, and nothing is enqueued`, async () => {
      const { nodes: [node] } = await setup('invalid');
      await assert.rejects(node!.queue.enqueue('evaluation', { candidate: 'p', suites: [] }), (err: unknown) => {
        assert.ok(err instanceof InvalidJobError, String(err));
        assert.equal(err.code, 'invalid_job');
        assert.match(err.message, /params\.suites/);
        return true;
      });
      await assert.rejects(node!.queue.enqueue('reward_model', { snapshotId: 's', ensemble: 0, epoch: 2 } as never), /params\.ensemble: .*params: Unrecognized key: "epoch"/);
      await assert.rejects(node!.queue.enqueue('sft' as never, {} as never), /kind: Invalid discriminator value/);
      assert.deepEqual(await node!.queue.list(), []);
    });

    it(`${tag} cancel: a queued job never runs; a running job's handler is aborted and the job ends cancelled`, { timeout: 120_000 }, async () => {
      const { nodes: [node], events } = await setup('cancel');
      const queued = await node!.queue.enqueue('evaluation', evaluation('never-runs'));
      const cancelledQueued = await node!.queue.cancel(queued.job.id);
      assert.equal(cancelledQueued.state, 'cancelled');
      assert.ok(cancelledQueued.finishedAt);

      const started = gate();
      const seen: string[] = [];
      let abortReason: unknown;
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => {
        seen.push(ctx.job.params.candidate);
        await ctx.progress({ step: 1, total: 100 });
        started.open();
        try {
          return await untilAborted(ctx);
        } catch (err) {
          abortReason = err;
          throw err;
        }
      });
      await node!.startWorker(handlers, { heartbeatMs: 200 });
      const running = await node!.queue.enqueue('evaluation', evaluation('cancel-me'));
      await started.promise;
      const requested = await node!.queue.cancel(running.job.id);
      assert.equal(requested.state, 'running');
      assert.equal(requested.cancelRequested, true);
      const ended = await waitForState(node!, running.job.id, 'cancelled');
      assert.ok(abortReason instanceof JobCancelledError, `the handler's signal said why: ${String(abortReason)}`);
      assert.equal(ended.leaseOwner, null);
      assert.deepEqual(seen, ['cancel-me'], 'the job cancelled while queued never ran');
      await waitFor('the cancelled event', () => events.states(running.job.id).includes('cancelled@1'));
      assert.ok(events.states(queued.job.id).includes('cancelled@0'));

      // cancelling a finished job changes nothing; an unknown id is a typed error
      assert.equal((await node!.queue.cancel(running.job.id)).state, 'cancelled');
      await assert.rejects(node!.queue.cancel('no-such-job'), (err: unknown) => err instanceof JobNotFoundError && err.code === 'job_not_found');
    });

    it(`${tag} failure and retry: retried while attempts remain, then failed with the last error; a non-retriable error fails at once`, { timeout: 120_000 }, async () => {
      const { nodes: [node], events } = await setup('retry');
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => {
        const { candidate } = ctx.job.params;
        if (candidate === 'flaky' && ctx.attempt === 1) throw new Error('eval backend unreachable (attempt 1)');
        if (candidate === 'broken') throw new Error(`suite crashed on attempt ${ctx.attempt}`);
        if (candidate === 'unknown') throw Object.assign(new Error('candidate unknown: no such model version'), { retriable: false });
        return { attempt: ctx.attempt };
      });
      await node!.startWorker(handlers);
      const flaky = await node!.queue.enqueue('evaluation', evaluation('flaky'), { maxAttempts: 3 });
      const broken = await node!.queue.enqueue('evaluation', evaluation('broken'), { maxAttempts: 2 });
      const unknown = await node!.queue.enqueue('evaluation', evaluation('unknown'), { maxAttempts: 3 });

      const f = await waitForState(node!, flaky.job.id, 'succeeded');
      assert.equal(f.attempts, 2);
      assert.deepEqual(f.result, { attempt: 2 });
      assert.match(f.error ?? '', /unreachable \(attempt 1\)/, 'the failed attempt is on record');

      const b = await waitForState(node!, broken.job.id, 'failed');
      assert.equal(b.attempts, 2);
      assert.match(b.error ?? '', /suite crashed on attempt 2/, 'the last error');

      const u = await waitForState(node!, unknown.job.id, 'failed');
      assert.equal(u.attempts, 1, 'not retried');
      assert.match(u.error ?? '', /candidate unknown/);

      await waitFor('the failed event', () => events.states(broken.job.id).includes('failed@2'));
      assert.deepEqual(events.states(broken.job.id).filter((s) => s !== 'queued@0'), ['running@1', 'queued@1', 'running@2', 'failed@2']);
      const failedEvent = events.events.find((e): e is JobStateEvent => e.jobId === broken.job.id && e.type === 'state' && e.state === 'failed');
      assert.match(failedEvent?.error ?? '', /attempt 2/);
    });

    it(`${tag} a redelivered wake-up for a finished job does nothing`, { timeout: 120_000 }, async () => {
      const { nodes: [node] } = await setup('redeliver');
      const runs = new Map<string, number>();
      const wakeUps: string[] = [];
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => {
        runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1);
        return { ran: true };
      });
      await node!.startWorker(handlers, { observer: { wakeUp: (m) => wakeUps.push(m.eventId) } });
      const { job } = await node!.queue.enqueue('evaluation', evaluation('once'));
      const done = await waitForState(node!, job.id, 'succeeded');

      const redelivery = { v: EVENT_VERSION, eventId: `redelivered-${job.id}`, jobId: job.id, kind: 'evaluation' as const, reason: 'enqueued' as const, createdAt: new Date().toISOString() };
      await node!.bus.publish(Topic.jobs, [{ key: job.id, value: redelivery }, { key: job.id, value: redelivery }]);
      await waitFor('the worker to receive the redelivered wake-up', () => wakeUps.includes(redelivery.eventId), 60_000);
      // gate: the claim pass the wake-up triggered is over once a later job has run
      const marker = await node!.queue.enqueue('evaluation', evaluation('marker'));
      await waitForState(node!, marker.job.id, 'succeeded');

      assert.equal(runs.get(job.id), 1, 'not run again');
      const now = await node!.queue.get(job.id);
      assert.equal(now.state, 'succeeded');
      assert.equal(now.attempts, 1);
      assert.equal(now.updatedAt.getTime(), done.updatedAt.getTime(), 'the row was not touched');
    });

    it(`${tag} two workers never run one job at once, and concurrent claims never take one job twice`, { timeout: 180_000 }, async () => {
      const { nodes: [a, b] } = await setup('race', 2);
      const active = new Set<string>();
      const runs = new Map<string, number>();
      let overlaps = 0;
      const handlers = () => {
        const h = new JobHandlers();
        h.register('evaluation', async (ctx) => {
          if (active.has(ctx.job.id)) overlaps++;
          active.add(ctx.job.id);
          runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1);
          await ctx.progress({ step: 1, total: 1 }); // a database round trip while "running"
          active.delete(ctx.job.id);
          return {};
        });
        return h;
      };
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await (i % 2 ? a! : b!).queue.enqueue('evaluation', evaluation(`c${i}`))).job.id);
      await Promise.all([a!.startWorker(handlers(), { concurrency: 2 }), b!.startWorker(handlers(), { concurrency: 2 })]);
      for (const id of ids) {
        const job = await waitForState(a!, id, 'succeeded');
        assert.equal(job.attempts, 1, `job ${id} was claimed once`);
      }
      assert.equal(overlaps, 0);
      assert.deepEqual([...runs.values()], ids.map(() => 1));

      // the claim itself, raced head-on: 6 jobs no worker here runs, 24 claims from 4 owners on 2 connections
      const rm: string[] = [];
      for (let i = 0; i < 6; i++) rm.push((await a!.queue.enqueue('reward_model', { snapshotId: `snap-${i}` })).job.id);
      const claims = await Promise.all(
        Array.from({ length: 24 }, (_, i) => (i % 2 ? a! : b!).repository.claimNext(`owner-${i % 4}`, ['reward_model'], 60_000)),
      );
      const claimed = claims.map((c) => c.claimed?.id).filter((id): id is string => id !== undefined);
      assert.equal(new Set(claimed).size, claimed.length, `no job claimed twice: ${claimed.join(', ')}`);
      assert.deepEqual([...claimed].sort(), [...rm].sort(), 'every job claimed once');
    });

    it(`${tag} malformed wake-ups and job events go to the topic's DLQ with the reason; the worker carries on`, { timeout: 180_000 }, async () => {
      const { nodes: [node], events } = await setup('dlq');
      const wakeUps: string[] = [];
      const handlers = new JobHandlers();
      handlers.register('evaluation', async () => ({}));
      await node!.startWorker(handlers, { observer: { wakeUp: (m) => wakeUps.push(m.jobId) } });
      // gate: the worker's wake-up consumer is positioned (Kafka: a new group starts at the end once it joined)
      await waitFor('the worker to receive a wake-up', async () => {
        if (wakeUps.length > 0) return true;
        await node!.queue.enqueue('evaluation', evaluation('probe'));
        return false;
      }, 90_000, 500);

      const valid = { v: EVENT_VERSION, eventId: 'w1', jobId: 'job-x', kind: 'evaluation', reason: 'enqueued', createdAt: new Date().toISOString() };
      await node!.bus.publishRaw(Topic.jobs, 'job-x', JSON.stringify({ ...valid, kind: 'sft' }));
      await node!.bus.publishRaw(Topic.jobs, 'job-x', '{"truncated');
      const letters = await readDeadLetters(node!, Topic.jobs, 2);
      assert.match(letters[0]!.letter.reason, /^schema violation: kind: /);
      assert.equal(JSON.parse(letters[0]!.letter.raw).kind, 'sft');
      assert.match(letters[1]!.letter.reason, /^invalid JSON/);
      assert.equal(letters[0]!.letter.sourceTopic, Topic.jobs);

      // a progress event with a negative step, read by the job-event log's subscription
      const badProgress = { v: EVENT_VERSION, eventId: 'p1', jobId: 'job-x', kind: 'evaluation', attempt: 1, type: 'progress', step: -1, createdAt: new Date().toISOString() };
      await node!.bus.publishRaw(Topic.jobEvents, 'job-x', JSON.stringify(badProgress));
      const progressLetters = await readDeadLetters(node!, Topic.jobEvents, 1);
      assert.match(progressLetters[0]!.letter.reason, /^schema violation: step: /);
      assert.equal(events.events.some((e) => e.eventId === 'p1'), false, 'the log never saw it');

      const after = await node!.queue.enqueue('evaluation', evaluation('after'));
      await waitForState(node!, after.job.id, 'succeeded');
    });

    it(`${tag} a worker SIGKILLed mid-job: its lease lapses and another worker takes the job over (attempt 2) and finishes it`, { timeout: 240_000 }, async () => {
      const { nodes: [node], config, events } = await setup('sigkill');
      const artifactDir = mkdtempSync(join(tmpdir(), 'outerloop-jobs-kill-'));
      cleanups.push(async () => rmSync(artifactDir, { recursive: true, force: true }));
      const LEASE_MS = 1500;
      const childConfig: WorkerChildConfig = { node: config, artifactDir, leaseMs: LEASE_MS, heartbeatMs: 250 };
      const child: ChildProcess = spawn(process.execPath, [CHILD], {
        env: { ...process.env, OUTERLOOP_TEST_JOB_CHILD: JSON.stringify(childConfig), OUTERLOOP_LOG_LEVEL: 'warn', OUTERLOOP_LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      let out = '';
      child.stdout!.setEncoding('utf8');
      const line = (pattern: RegExp) =>
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = () => {
            const m = pattern.exec(out);
            if (m) resolve(m);
          };
          child.stdout!.on('data', (chunk: string) => {
            out += chunk;
            check();
          });
          child.once('exit', (code, signal) => reject(new Error(`worker child exited (code ${code}, signal ${signal}) before ${pattern}: ${out}`)));
          check();
        });
      const childOwner = (await line(/READY (\S+)\n/))[1]!;

      const { job } = await node!.queue.enqueue('evaluation', evaluation('long-job'));
      await line(new RegExp(`RUNNING ${job.id} attempt 1 step 1\\n`));
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      const [, signal] = (await exited) as [number | null, string | null];
      assert.equal(signal, 'SIGKILL');

      // nobody else runs evaluation jobs yet: the row still shows the dead worker's lease
      const orphan = await node!.queue.get(job.id);
      assert.equal(orphan.state, 'running');
      assert.equal(orphan.leaseOwner, childOwner);
      assert.equal(orphan.attempts, 1);
      assert.equal(orphan.progress?.step, 1, 'the dead attempt reported step 1');

      const store = new LocalArtifactStore(artifactDir);
      const takenOver: Array<{ attempt: number; resumedFrom: number }> = [];
      const handlers = new JobHandlers();
      handlers.register('evaluation', async (ctx) => {
        const checkpoint = JSON.parse((await store.get(`${ctx.checkpoint.prefix}${CHECKPOINT_FILE}`)).toString('utf8')) as { step: number; attempt: number };
        for (let step = checkpoint.step + 1; step <= 3; step++) await ctx.progress({ step, total: 3 });
        takenOver.push({ attempt: ctx.attempt, resumedFrom: checkpoint.step });
        return { resumedFrom: checkpoint.step, checkpointAttempt: checkpoint.attempt, attempt: ctx.attempt };
      });
      const successor = await node!.startWorker(handlers, { leaseMs: LEASE_MS });
      const done = await waitForState(node!, job.id, 'succeeded', 120_000);
      assert.equal(done.attempts, 2);
      assert.deepEqual(done.result, { resumedFrom: 1, checkpointAttempt: 1, attempt: 2 });
      assert.deepEqual(takenOver, [{ attempt: 2, resumedFrom: 1 }], 'taken over once, from the checkpoint');
      assert.notEqual(successor.owner, childOwner);
      await waitFor('the succeeded event', () => events.states(job.id).includes('succeeded@2'));
      assert.deepEqual(events.states(job.id).filter((s) => s !== 'queued@0'), ['running@1', 'running@2', 'succeeded@2']);
    });
  });
}
