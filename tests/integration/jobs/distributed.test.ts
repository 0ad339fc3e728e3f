// The durable-job contract in distributed mode: PostgreSQL and Kafka, each test in a
// fresh database with its own topic prefix (topics deleted after).
import { describe } from 'node:test';
import { createTestDatabase, deleteKafkaTopics, requireKafka, requirePostgres, uniquePrefix } from '../support/services.js';
import { jobContract } from './job.contract.js';
import { migrateDatabase } from './node.js';

const kafka = await requireKafka();
const postgres = await requirePostgres();
const skip = kafka.skip || postgres.skip;

describe('[kafka+postgres] durable jobs, distributed mode', { skip }, () => {
  const drops = new Map<string, () => Promise<void>>();
  jobContract('[kafka+postgres]', () => ({
    newStores: async (label) => {
      const db = await createTestDatabase(postgres.info!, `jobs${label}`);
      const database = { type: 'postgres' as const, url: db.url };
      await migrateDatabase(database);
      const topicPrefix = `${uniquePrefix(label)}.`;
      drops.set(topicPrefix, db.drop);
      return { database, bus: { adapter: 'kafka', brokers: kafka.info!.brokers }, topicPrefix };
    },
    dropStores: async (config) => {
      await deleteKafkaTopics(kafka.info!, config.topicPrefix);
      await drops.get(config.topicPrefix)?.();
    },
    oneConnectionPerProcess: false,
  }));
});
