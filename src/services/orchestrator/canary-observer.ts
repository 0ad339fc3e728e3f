// What the canary analysis reads since the canary started, for both arms (canary and
// the production it runs against):
// - feedback: thumbs on answers served by each arm, and pairwise votes from comparison
//   mode. A pairwise event is stored on the completion it is about (value 1: this one
//   won, -1: the other, 0: a tie); while a canary runs, comparison mode pits production
//   against the canary, so a vote on a canary answer is a canary-vs-production vote and
//   a vote on a production answer is the mirror image. Votes on any other model are
//   ignored.
// - guard metrics from the answers each arm served (the completions table, so every
//   mode and every orchestrator process reads the same): p99 latency and the refusal
//   rate. Every prompt the scenario's users send is benign (it has no harmful prompts),
//   so the refusal rate of served answers is the benign refusal rate; a deployment
//   with harmful traffic would filter the prompts with a safety classifier first.
// - the 5xx rate per arm from the gateway's request counter, where the gateway runs in
//   this process (embedded mode); failed requests leave no completion row, so a
//   distributed orchestrator reports it as not measured (null).
// A guard needs GUARD_MIN_ANSWERS answers of an arm: a p99 of a handful is noise.
import type { Counter, Registry } from 'prom-client';
import type { CanaryObservation, GuardMetrics } from '../../evaluation/canary/canary-verdict.js';
import type { ICompletionRepository, IFeedbackRepository, ServedCompletion } from '../../platform/persistence/repositories/index.js';
import { isRefusal } from '../../scenario/text-features.js';
import type { CanaryObserver } from './loop-runner.js';

export const GUARD_MIN_ANSWERS = 20;
const CHAT_ROUTE = '/v1/chat/completions';

export interface CanaryObserverSources {
  feedback: Pick<IFeedbackRepository, 'findInWindow'>;
  completions: Pick<ICompletionRepository, 'servedSince'>;
  /** this process's metrics registry; its gateway request counter gives the 5xx rate when the gateway runs here */
  registry?: Registry;
}

export function canaryObserver(sources: CanaryObserverSources): CanaryObserver {
  const requests = gatewayRequestCounts(sources.registry);
  return async ({ canaryModelId, productionModelId, since }) => {
    const obs: CanaryObservation = {
      thumbs: { production: { up: 0, n: 0 }, canary: { up: 0, n: 0 } },
      pairwise: { canaryWins: 0, productionWins: 0, ties: 0 },
      guards: emptyGuards(),
      productionGuards: emptyGuards(),
    };
    for (const e of await sources.feedback.findInWindow(since, null)) {
      const arm = e.modelVersion === canaryModelId ? 'canary' : e.modelVersion === productionModelId ? 'production' : null;
      if (!arm || e.value === null) continue;
      if (e.type === 'thumbs') {
        obs.thumbs[arm].n += 1;
        if (e.value > 0) obs.thumbs[arm].up += 1;
      } else if (e.type === 'pairwise') {
        if (e.value === 0) obs.pairwise.ties += 1;
        else if ((e.value > 0) === (arm === 'canary')) obs.pairwise.canaryWins += 1;
        else obs.pairwise.productionWins += 1;
      }
    }
    const served = await sources.completions.servedSince([canaryModelId, productionModelId], since);
    const errors = await requests?.(since);
    obs.guards = guardsOf(served.filter((c) => c.modelVersion === canaryModelId), errors?.get(canaryModelId));
    obs.productionGuards = guardsOf(served.filter((c) => c.modelVersion === productionModelId), errors?.get(productionModelId));
    return obs;
  };
}

function emptyGuards(): GuardMetrics {
  return { errorRate: null, p99LatencyMs: null, benignRefusalRate: null };
}

function guardsOf(answers: readonly ServedCompletion[], requests: { total: number; failed: number } | undefined): GuardMetrics {
  const guards = emptyGuards();
  if (requests && requests.total >= GUARD_MIN_ANSWERS) guards.errorRate = requests.failed / requests.total;
  if (answers.length < GUARD_MIN_ANSWERS) return guards;
  const latencies = answers.map((a) => a.latencyMs).sort((a, b) => a - b);
  // nearest-rank p99
  guards.p99LatencyMs = latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)]!;
  guards.benignRefusalRate = answers.filter((a) => isRefusal(a.response)).length / answers.length;
  return guards;
}

/**
 * Chat requests and 5xx answers per model version since the first look after `since`:
 * the counter is cumulative, so the first look of a canary records a baseline and
 * later looks subtract it. Undefined when no gateway runs in this process.
 */
function gatewayRequestCounts(registry: Registry | undefined): ((since: Date) => Promise<Map<string, { total: number; failed: number }>>) | undefined {
  if (!registry) return undefined;
  const baselines = new Map<number, Map<string, { total: number; failed: number }>>();
  return async (since) => {
    const counter = registry.getSingleMetric('outerloop_gateway_requests_total') as Counter | undefined;
    const now = new Map<string, { total: number; failed: number }>();
    if (!counter) return now;
    for (const v of (await counter.get()).values) {
      if (v.labels.route !== CHAT_ROUTE) continue;
      const version = String(v.labels.model_version);
      const row = now.get(version) ?? { total: 0, failed: 0 };
      row.total += v.value;
      if (String(v.labels.status).startsWith('5')) row.failed += v.value;
      now.set(version, row);
    }
    const key = since.getTime();
    if (!baselines.has(key)) baselines.set(key, now);
    const base = baselines.get(key)!;
    return new Map([...now].map(([version, c]) => [version, { total: c.total - (base.get(version)?.total ?? 0), failed: c.failed - (base.get(version)?.failed ?? 0) }]));
  };
}
