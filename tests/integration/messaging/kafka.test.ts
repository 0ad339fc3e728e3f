// The EventBus contract against a real Kafka broker (KRaft, tests/infra/kafka.sh),
// plus what only Kafka has: topics and their DLQs created up front with the prefix,
// and publish failing with a retriable BusUnavailableError when no broker answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { BusUnavailableError } from '../../../src/platform/messaging/event-bus.js';
import { ALL_TOPICS, Topic } from '../../../src/platform/messaging/events.js';
import { KafkaEventBus } from '../../../src/platform/messaging/kafka/kafka-event-bus.js';
import { deleteKafkaTopics, requireKafka, uniquePrefix, waitFor } from '../support/services.js';
import { eventBusContract, thumbs } from './event-bus.contract.js';

const kafka = await requireKafka();

function kafkaBus(brokers: string[], topicPrefix: string, extra: Partial<ConstructorParameters<typeof KafkaEventBus>[0]> = {}): KafkaEventBus {
  return new KafkaEventBus({
    brokers,
    clientId: 'contract-test',
    topicPrefix,
    // fast retries keep the retry test short; semantics are the same
    backoff: { initialMs: 20, maxMs: 200 },
    sessionTimeoutMs: 6000,
    ...extra,
  });
}

describe('[kafka] event bus', { skip: kafka.skip }, () => {
  eventBusContract('[kafka]', () => {
    const { brokers } = kafka.info!;
    return {
      createBus: async (prefix) => {
        const bus = kafkaBus(brokers, prefix);
        await bus.start();
        return bus;
      },
      childBus: () => ({ adapter: 'kafka', brokers }),
      crashRecoveryMs: 15_000,
      cleanup: async (prefix) => void (await deleteKafkaTopics({ brokers }, prefix)),
    };
  });

  it('[kafka] start() creates every topic and its DLQ under the prefix', async () => {
    const { brokers } = kafka.info!;
    const prefix = `${uniquePrefix('topics')}.`;
    const bus = kafkaBus(brokers, prefix, { numPartitions: 2 });
    await bus.start();
    const admin = new kafkajs.Kafka({ brokers, clientId: 'contract-test-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const expected = ALL_TOPICS.flatMap((t) => [`${prefix}${t}`, `${prefix}${t}.dlq`]).sort();
      // the broker's metadata cache catches up with the controller asynchronously (KRaft)
      let mine: string[] = [];
      await waitFor('the new topics in the metadata', async () => {
        mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
        return mine.length >= expected.length;
      }, 15_000, 200).catch(() => undefined); // the assertion below reports what is missing
      assert.deepEqual(mine, expected);
      const meta = await admin.fetchTopicMetadata({ topics: [`${prefix}${Topic.feedback}`] });
      assert.equal(meta.topics[0]!.partitions.length, 2);
    } finally {
      await admin.disconnect();
      await bus.close();
      await deleteKafkaTopics({ brokers }, prefix);
    }
  });

  it('[kafka] publish with no broker answering rejects with a retriable BusUnavailableError', async () => {
    // a port nothing listens on: start() fails fast when told to give up
    const bus = kafkaBus(['127.0.0.1:1'], `${uniquePrefix('down')}.`, { maxStartAttempts: 2 });
    await assert.rejects(bus.start(), (err: unknown) => {
      assert.ok(err instanceof BusUnavailableError);
      assert.equal(err.retriable, true);
      assert.match(err.message, /unreachable after 2 attempts/);
      return true;
    });
    await assert.rejects(bus.publish(Topic.feedback, [{ key: 'k', value: thumbs('e') }]), (err: unknown) => {
      assert.ok(err instanceof BusUnavailableError);
      return true;
    });
    assert.equal(await bus.isReady(), false);
    await bus.close();
  });
});
