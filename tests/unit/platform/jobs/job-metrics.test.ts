// JobMetrics: the series a worker's kinds start with, the queue wait of a first
// attempt (not of a retry), and the progress gauges (a fixed list, per kind).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { JobRecord } from '../../../../src/domain/jobs.js';
import { validateJobProgress } from '../../../../src/platform/messaging/events.js';
import { JobMetrics } from '../../../../src/platform/jobs/job-metrics.js';

function job(over: Partial<JobRecord> = {}): JobRecord {
  const now = new Date();
  return {
    id: 'job-1', kind: 'ppo', params: {}, idempotencyKey: null, state: 'running', attempts: 1, maxAttempts: 3, runAfter: now, leaseOwner: 'w', heartbeatAt: now,
    leaseExpiresAt: now, progress: null, result: null, error: null, cancelRequested: false, createdAt: now, updatedAt: now, startedAt: now, finishedAt: null, ...over,
  };
}

const progress = (input: unknown) => {
  const r = validateJobProgress(input);
  assert.ok(r.ok);
  return r.value;
};

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = (await registry.getSingleMetric(name)!.get()).values;
  return m.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('JobMetrics', () => {
  it('starts the counters and histograms of its kinds at 0, so a first failure is an increase', async () => {
    const registry = new Registry();
    new JobMetrics(registry, ['ppo', 'evaluation']);
    const text = await registry.metrics();
    assert.match(text, /outerloop_job_attempts_total\{kind="ppo",outcome="failed"\} 0\n/);
    assert.match(text, /outerloop_job_attempts_total\{kind="evaluation",outcome="requeued"\} 0\n/);
    assert.match(text, /outerloop_job_queue_wait_seconds_count\{kind="evaluation"\} 0\n/);
    assert.match(text, /outerloop_jobs_running\{kind="ppo"\} 0\n/);
    assert.doesNotMatch(text, /kind="dpo"/);
  });

  it('observes the queue wait of a first attempt from created_at, and not a retry\'s', async () => {
    const registry = new Registry();
    const metrics = new JobMetrics(registry, ['ppo']);
    metrics.attemptStarted(job({ createdAt: new Date(Date.now() - 90_000) }));
    metrics.attemptEnded(job(), 1, 'queued');
    metrics.attemptStarted(job({ attempts: 2, createdAt: new Date(Date.now() - 900_000) }));
    metrics.attemptEnded(job(), 2, 'failed');
    assert.equal(await value(registry, 'outerloop_job_queue_wait_seconds', { kind: 'ppo', le: '+Inf' }), 1);
    const sum = Number(/outerloop_job_queue_wait_seconds_sum\{kind="ppo"\} ([0-9.]+)/.exec(await registry.metrics())![1]);
    assert.ok(sum >= 90 && sum < 100, `queue wait ${sum} s`);
    assert.equal(await value(registry, 'outerloop_job_attempts_total', { kind: 'ppo', outcome: 'requeued' }), 1);
    assert.equal(await value(registry, 'outerloop_job_attempts_total', { kind: 'ppo', outcome: 'failed' }), 1);
    assert.equal(await value(registry, 'outerloop_jobs_running', { kind: 'ppo' }), 0);
  });

  it('keeps the last progress report\'s figures per kind; free-form keys and non-finite values make no series', async () => {
    const registry = new Registry();
    const metrics = new JobMetrics(registry, ['ppo']);
    metrics.progress(job(), progress({ step: 3, total: 12, loss: 0.7, tokensPerSecond: 410, metrics: { reward: 0.31, kl: 1.5, beta: 0.05, entropy: 2.2, clip_fraction: 0.12, rollout_ms: 900 } }));
    metrics.progress(job(), progress({ step: 4, total: 12, metrics: { reward: 0.35 } }));
    assert.equal(await value(registry, 'outerloop_job_progress_ratio', { kind: 'ppo' }), 4 / 12);
    assert.equal(await value(registry, 'outerloop_training_reward', { kind: 'ppo' }), 0.35);
    assert.equal(await value(registry, 'outerloop_training_kl', { kind: 'ppo' }), 1.5); // not in the second report: the last value stays
    assert.equal(await value(registry, 'outerloop_training_kl_coefficient', { kind: 'ppo' }), 0.05);
    assert.equal(await value(registry, 'outerloop_training_clip_fraction', { kind: 'ppo' }), 0.12);
    assert.equal(await value(registry, 'outerloop_training_tokens_per_second', { kind: 'ppo' }), 410);
    assert.doesNotMatch(await registry.metrics(), /rollout/);
    assert.equal(await value(registry, 'outerloop_training_accuracy', { kind: 'ppo' }), undefined);
  });
});
