// With the Kafka broker stopped, chat keeps answering; once it is back, every
// completion served meanwhile is in `outerloop.completions` (through the durable
// spool). Stops and restarts the shared test broker, like the ingest no-loss test:
// integration files run serially (tests/run.mjs), so no other test sees it down.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KafkaEventBus } from '../../../src/platform/messaging/kafka/kafka-event-bus.js';
import { Topic } from '../../../src/platform/messaging/events.js';
import { requireKafka, uniquePrefix, waitFor } from '../support/services.js';
import { startTestGateway, type TestGateway } from '../../unit/services/gateway/support/test-gateway.js';

const run = promisify(execFile);
const kafka = await requireKafka();
const KAFKA_SH = join(process.cwd(), 'tests/infra/kafka.sh');

describe('[kafka] gateway completion log survives a broker outage', { skip: kafka.skip, timeout: 300_000 }, () => {
  let gw: TestGateway;
  let bus: KafkaEventBus;
  let reader: KafkaEventBus;
  const prefix = `${uniquePrefix('gwspool')}.`;

  before(async () => {
    bus = new KafkaEventBus({ brokers: kafka.info!.brokers, clientId: 'gateway-spool-test', topicPrefix: prefix, maxStartAttempts: 20 });
    await bus.start();
    gw = await startTestGateway({ realBus: bus });
  });
  after(async () => {
    await gw?.close();
    await bus?.close();
    await reader?.close();
  });

  async function chat(seed: number): Promise<string> {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'outerloop', messages: [{ role: 'user', content: 'hello' }], seed }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  }

  it('every completion served while the broker was down arrives after it returns', async () => {
    const served: string[] = [];
    for (let i = 0; i < 3; i++) served.push(await chat(i));
    await gw.completions.whenIdle();

    await run('bash', [KAFKA_SH, 'stop'], { timeout: 120_000 });
    try {
      for (let i = 3; i < 23; i++) served.push(await chat(i)); // answered with the broker down
      await waitFor('completions spooled while the broker is down', () => gw.completions.spooled() >= 20, 60_000, 100);
    } finally {
      await run('bash', [KAFKA_SH, 'start'], { timeout: 180_000 });
    }
    for (let i = 23; i < 26; i++) served.push(await chat(i));
    await waitFor('spool drained', () => gw.completions.spooled() === 0, 120_000, 200);
    await gw.completions.whenIdle();
    assert.equal(await gw.metric('outerloop_gateway_completion_spool_dropped_total'), 0);

    reader = new KafkaEventBus({ brokers: kafka.info!.brokers, clientId: 'gateway-spool-reader', topicPrefix: prefix, maxStartAttempts: 20 });
    await reader.start();
    const seen = new Set<string>();
    const sub = await reader.subscribe({
      topic: Topic.completions,
      groupId: 'reader',
      fromBeginning: true,
      handleBatch: async (messages) => {
        for (const m of messages) seen.add(m.value.completionId);
      },
    });
    try {
      await waitFor('every served completion in outerloop.completions', () => served.every((id) => seen.has(id)), 90_000, 200);
    } finally {
      await sub.stop();
    }
    assert.equal(served.filter((id) => seen.has(id)).length, 26);
  });
});
