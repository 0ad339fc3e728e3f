// POST /v1/feedback and /v1/feedback/batch, imported with the gateway role. It
// reuses the gateway's API-key check (feedback.routes.ts) and listens to its completion log to index
// the completions this process served (see completion-directory.ts).
import { Module, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { EventBus } from '../../../platform/messaging/event-bus.js';
import type { ICompletionRepository } from '../../../platform/persistence/repositories/index.js';
import { COMPLETION_REPOSITORY, EVENT_BUS, METRICS } from '../../../platform/tokens.js';
import { CompletionLog } from '../completion-log/completion-log.js';
import { GatewayModule } from '../gateway.module.js';
import { COMPLETION_DIRECTORY, completionOwnerOf, LayeredCompletionDirectory, RecentCompletionIndex, type CompletionDirectory } from './completion-directory.js';
import { DatabaseCompletionDirectory } from './database-completion-directory.js';
import { FeedbackRoutes } from './feedback.routes.js';
import { FeedbackMetrics, FeedbackService } from './feedback.service.js';

/**
 * Completions remembered per gateway process. At ~100 bytes an entry this is ~10 MB,
 * and covers minutes of traffic at hundreds of completions/s — far longer than the
 * ingest lag the index exists to bridge.
 */
const RECENT_COMPLETIONS_CAPACITY = 100_000;

/** the authoritative completion lookup behind the recent index (the completions table) */
export const COMPLETION_STORE = Symbol('COMPLETION_STORE');

/** Providers that touch the world; tests replace these. */
export const FEEDBACK_INFRASTRUCTURE: Provider[] = [
  {
    provide: COMPLETION_STORE,
    useFactory: (completions: ICompletionRepository): CompletionDirectory => new DatabaseCompletionDirectory(completions),
    inject: [COMPLETION_REPOSITORY],
  },
];

/** The module's shape, given the gateway module that provides auth and the completion log. */
export function feedbackModuleMetadata(gateway: Type<unknown>, infrastructure: Provider[]): ModuleMetadata {
  return {
    imports: [gateway],
    providers: [
      ...infrastructure,
      FeedbackRoutes,
      {
        provide: RecentCompletionIndex,
        useFactory: (log: CompletionLog) => {
          const index = new RecentCompletionIndex(RECENT_COMPLETIONS_CAPACITY);
          log.onRecorded((e) => index.remember(completionOwnerOf(e)));
          return index;
        },
        inject: [CompletionLog],
      },
      {
        provide: COMPLETION_DIRECTORY,
        useFactory: (recent: RecentCompletionIndex, store: CompletionDirectory): CompletionDirectory => new LayeredCompletionDirectory(recent, store),
        inject: [RecentCompletionIndex, COMPLETION_STORE],
      },
      { provide: FeedbackMetrics, useFactory: (registry: Registry) => new FeedbackMetrics(registry), inject: [METRICS] },
      {
        provide: FeedbackService,
        useFactory: (bus: EventBus, directory: CompletionDirectory, metrics: FeedbackMetrics) => new FeedbackService(bus, directory, metrics),
        inject: [EVENT_BUS, COMPLETION_DIRECTORY, FeedbackMetrics],
      },
    ],
    exports: [RecentCompletionIndex, FeedbackService],
  };
}

@Module(feedbackModuleMetadata(GatewayModule, FEEDBACK_INFRASTRUCTURE))
export class FeedbackModule {}
