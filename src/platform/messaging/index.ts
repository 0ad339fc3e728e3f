// The EventBus for the configured mode: Kafka in distributed mode, the database-backed
// log in embedded mode. Callers depend on the EventBus port only.
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../../config/config.js';
import type { DeadLetterObserver } from './delivery.js';
import { EmbeddedEventBus } from './embedded/embedded-event-bus.js';
import type { DeadLetterReader, EventBus } from './event-bus.js';
import { KafkaEventBus } from './kafka/kafka-event-bus.js';

export function createEventBus(
  config: Pick<OuterloopConfig, 'bus' | 'topicPrefix'>,
  dataSource: DataSource,
  deadLetters?: DeadLetterObserver,
): EventBus & DeadLetterReader {
  if (config.bus.type === 'kafka') {
    return new KafkaEventBus({ brokers: config.bus.brokers, clientId: config.bus.clientId, topicPrefix: config.topicPrefix, deadLetters });
  }
  return new EmbeddedEventBus(dataSource, { topicPrefix: config.topicPrefix, deadLetters });
}

export { EmbeddedEventBus } from './embedded/embedded-event-bus.js';
export { KafkaEventBus } from './kafka/kafka-event-bus.js';
export { InvalidEventError, type DeadLetterCause, type DeadLetterObserver } from './delivery.js';
