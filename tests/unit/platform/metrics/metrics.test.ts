// The process's own metrics: dead letters are counted by cause from the delivery
// core both bus adapters share (the first letter shows up in increase(), because
// series start at zero), every role is one series under a label that cannot clash
// with the scrape target's `role`, and the default metrics follow Prometheus' naming.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { deliverBatch, type RawRecord } from '../../../../src/platform/messaging/delivery.js';
import { Topic } from '../../../../src/platform/messaging/events.js';
import { createMetricsRegistry, deadLetterMetrics } from '../../../../src/platform/metrics/metrics.js';
import { RoleHeartbeat } from '../../../../src/services/role-heartbeat.js';
import { requirePromtool } from '../../deploy/promtool.js';

async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

test('the bus counts dead letters by topic and cause, starting at zero when a subscription starts', async () => {
  const registry = new Registry();
  const observer = deadLetterMetrics(registry);
  observer.watching(Topic.feedback);
  assert.equal(await sample(registry, 'outerloop_bus_dead_lettered_total', { topic: Topic.feedback, cause: 'malformed' }), 0);
  const thumbs = { v: 1, eventId: 'e1', completionId: 'c1', type: 'thumbs', value: 1, userId: null, apiKeyId: null, createdAt: '2026-01-01T00:00:00Z' };
  const records: RawRecord[] = [
    { key: 'k', raw: '{not json', partition: 0, offset: '1' },
    { key: 'k', raw: JSON.stringify({ ...thumbs, value: 7 }), partition: 0, offset: '2' },
    { key: 'k', raw: JSON.stringify(thumbs), partition: 0, offset: '3' },
  ];
  const done = await deliverBatch(
    {
      topic: Topic.feedback,
      handler: async () => ({ rejected: [{ partition: 0, offset: '3', reason: 'unknown completion' }] }),
      logger: new Logger('metrics-test'),
      deadLetter: async () => {},
      shouldContinue: () => true,
      observer,
    },
    records,
  );
  assert.equal(done, true);
  assert.equal(await sample(registry, 'outerloop_bus_dead_lettered_total', { topic: Topic.feedback, cause: 'malformed' }), 2);
  assert.equal(await sample(registry, 'outerloop_bus_dead_lettered_total', { topic: Topic.feedback, cause: 'rejected' }), 1);
  assert.equal(await sample(registry, 'outerloop_bus_dead_lettered_total', { topic: Topic.feedback, cause: 'handler_failed' }), 0);
});

test('a letter the bus could not write is not counted', async () => {
  const registry = new Registry();
  const observer = deadLetterMetrics(registry);
  let stop = false;
  const done = await deliverBatch(
    {
      topic: Topic.feedback,
      handler: async () => {},
      logger: new Logger('metrics-test'),
      deadLetter: async () => {
        stop = true;
        throw new Error('bus down');
      },
      shouldContinue: () => !stop,
      backoff: { initialMs: 1, maxMs: 1 },
      observer,
    },
    [{ key: 'k', raw: '{', partition: 0, offset: '1' }],
  );
  assert.equal(done, false);
  assert.equal(await sample(registry, 'outerloop_bus_dead_lettered_total', { topic: Topic.feedback, cause: 'malformed' }), undefined);
});

test('one outerloop_role_up series per role, labelled outerloop_role; 0 once the role stops', async () => {
  const registry = new Registry();
  const roles = ['gateway', 'ingest', 'orchestrator'].map((r) => new RoleHeartbeat(r, registry));
  for (const r of roles) r.onModuleInit();
  roles[1]!.onApplicationShutdown();
  const up = await registry.getSingleMetric('outerloop_role_up')!.get();
  assert.deepEqual(
    up.values.map((v) => [v.labels.outerloop_role, v.value]),
    [['gateway', 1], ['ingest', 0], ['orchestrator', 1]],
  );
  assert.ok(up.values.every((v) => !('role' in v.labels)));
});

test('promtool check metrics accepts the registry (no gauge named *_total)', async (t) => {
  const promtool = requirePromtool(t);
  if (!promtool) return;
  const registry = createMetricsRegistry({ mode: 'embedded' });
  new RoleHeartbeat('gateway', registry).onModuleInit();
  deadLetterMetrics(registry).watching(Topic.completions);
  const text = await registry.metrics();
  assert.doesNotMatch(text, /^# TYPE \S+_total gauge$/m);
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
});
