// Subscribes the ingest consumers when the app starts and stops them (finishing
// and committing the batch in flight) when it shuts down.
import type { Registry } from 'prom-client';
import type { EventBus, Subscription } from '../../platform/messaging/event-bus.js';
import { Topic } from '../../platform/messaging/events.js';
import { Logger } from '../../platform/logging/logger.js';
import type { ICompletionRepository, IFeedbackRepository } from '../../platform/persistence/repositories/index.js';
import { CompletionsConsumer, FeedbackConsumer } from './ingest.consumers.js';
import { IngestMetrics } from './ingest.metrics.js';
import { IngestRepository } from './ingest.repository.js';

export interface IngestOptions {
  /** consumer group ids are `<groupPrefix>ingest.completions` and `<groupPrefix>ingest.feedback` */
  groupPrefix: string;
  /** see FeedbackConsumer: how long feedback may wait for its completion */
  completionGraceMs: number;
  /** upper bound on events per handler call (= per INSERT transaction) */
  maxBatchSize: number;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  groupPrefix: 'outerloop.',
  // The completions consumer normally trails the gateway by well under a second;
  // 30 s covers a restart of the ingest process or a broker failover.
  completionGraceMs: 30_000,
  maxBatchSize: 2000,
};

export class IngestService {
  private readonly log = new Logger('ingest');
  private readonly subscriptions: Subscription[] = [];
  readonly completions: CompletionsConsumer;
  readonly feedback: FeedbackConsumer;
  private readonly metrics: IngestMetrics;

  constructor(
    private readonly bus: EventBus,
    store: { completions: ICompletionRepository; feedback: IFeedbackRepository },
    registry: Registry,
    private readonly options: IngestOptions = DEFAULT_INGEST_OPTIONS,
  ) {
    const repository = new IngestRepository(store.completions, store.feedback);
    const metrics = (this.metrics = new IngestMetrics(registry));
    this.completions = new CompletionsConsumer(repository, metrics);
    this.feedback = new FeedbackConsumer(repository, metrics, { completionGraceMs: options.completionGraceMs });
  }

  async start(): Promise<void> {
    this.subscriptions.push(
      await this.bus.subscribe({
        topic: Topic.completions,
        groupId: `${this.options.groupPrefix}ingest.completions`,
        handleBatch: this.metrics.lag.track(Topic.completions, this.completions.handleBatch, (m) => m.value.createdAt),
        maxBatchSize: this.options.maxBatchSize,
      }),
    );
    this.subscriptions.push(
      await this.bus.subscribe({
        topic: Topic.feedback,
        groupId: `${this.options.groupPrefix}ingest.feedback`,
        handleBatch: this.metrics.lag.track(Topic.feedback, this.feedback.handleBatch, (m) => m.value.createdAt),
        maxBatchSize: this.options.maxBatchSize,
      }),
    );
    this.log.info('ingest consumers started', { groups: [`${this.options.groupPrefix}ingest.completions`, `${this.options.groupPrefix}ingest.feedback`] });
  }

  async stop(): Promise<void> {
    const subs = this.subscriptions.splice(0);
    await Promise.all(subs.map((s) => s.stop()));
    if (subs.length) this.log.info('ingest consumers stopped');
  }
}
