// The EventBus for the configured mode: Kafka in distributed mode, the database-backed
// log in embedded mode. Callers depend on the EventBus port only.
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../../config/config.js';
import { EmbeddedEventBus } from './embedded/embedded-event-bus.js';
import type { DeadLetterReader, EventBus } from './event-bus.js';
import { KafkaEventBus } from './kafka/kafka-event-bus.js';

export function createEventBus(config: Pick<OuterloopConfig, 'bus' | 'topicPrefix'>, dataSource: DataSource): EventBus & DeadLetterReader {
  if (config.bus.type === 'kafka') {
    return new KafkaEventBus({ brokers: config.bus.brokers, clientId: config.bus.clientId, topicPrefix: config.topicPrefix });
  }
  return new EmbeddedEventBus(dataSource, { topicPrefix: config.topicPrefix });
}

export { EmbeddedEventBus } from './embedded/embedded-event-bus.js';
export { KafkaEventBus } from './kafka/kafka-event-bus.js';
export { InvalidEventError } from './delivery.js';
