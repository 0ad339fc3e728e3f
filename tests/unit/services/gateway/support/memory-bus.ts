// An EventBus double: validates like the real adapters, keeps what was published,
// and can be "down" (publish rejects with the retriable BusUnavailableError) to
// test the completion spool.
import { BusUnavailableError, type BusRecord, type EventBus, type SubscribeOptions, type Subscription } from '../../../../../src/platform/messaging/event-bus.js';
import { validateEvent, type EventOf, type TopicName } from '../../../../../src/platform/messaging/events.js';

export class MemoryBus implements EventBus {
  down = false;
  publishCalls = 0;
  readonly published: Array<{ topic: string; key: string; value: any }> = [];
  private readonly subs: Array<SubscribeOptions<any>> = [];
  private offset = 0;

  async start(): Promise<void> {}

  async publish<T extends TopicName>(topic: T, records: BusRecord<T>[]): Promise<void> {
    this.publishCalls++;
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new BusUnavailableError('memory bus is down (test)');
    const checked = records.map((r) => {
      const v = validateEvent(topic, r.value);
      if (!v.ok) throw new Error(`invalid ${topic} event: ${v.reason}`);
      return { topic, key: r.key, value: v.value };
    });
    this.published.push(...checked);
  }

  async publishRaw(): Promise<void> {
    throw new Error('not used');
  }

  async subscribe<T extends TopicName>(options: SubscribeOptions<T>): Promise<Subscription> {
    this.subs.push(options);
    return { stop: async () => void this.subs.splice(this.subs.indexOf(options), 1) };
  }

  /** Deliver an event to every subscriber of its topic. */
  async deliver<T extends TopicName>(topic: T, value: EventOf<T>): Promise<void> {
    for (const s of this.subs.filter((x) => x.topic === topic)) {
      await s.handleBatch([{ topic, key: null, value, partition: 0, offset: String(this.offset++) }]);
    }
  }

  async isReady(): Promise<boolean> {
    return !this.down;
  }

  async close(): Promise<void> {}
}
