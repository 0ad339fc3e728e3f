// The gateway's best-of-n mode (best-of-n-ranker.ts has the why): the ranker, loaded on
// first use — the configured RM may be registered after the gateway starts — and
// reloaded on the next request after a failure, whose reason the request's 503 and
// /readyz name; the Prometheus figures of the mode; and the choice of the best answer.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChatMessage } from '../../../engine/chat-template.js';
import { metric } from '../../../platform/metrics/metrics.js';
import { GatewayError } from '../errors.js';
import type { BestOfNRanker } from './best-of-n-ranker.js';

/** What a best-of-n answer reports (the response's `outerloop.best_of_n`). */
export interface BestOfNReport {
  n: number;
  reward_model_version: string;
  /** KL(best-of-n ‖ policy) ≤ log n − (n − 1)/n nats */
  kl_bound_nats: number;
  /** index of the returned answer among the n samples, and every sample's RM score */
  chosen_index: number;
  scores: number[];
  /** tokens generated for all n samples, and those beyond the returned answer's: the extra cost */
  sampled_completion_tokens: number;
  extra_completion_tokens: number;
}

export class BestOfNMetrics {
  readonly requests: Counter;
  readonly samples: Counter;
  readonly extraTokens: Counter;
  readonly klBound: Gauge;
  readonly chosenScore: Gauge;

  constructor(registry: Registry) {
    const r = [registry];
    this.requests = metric(registry, 'outerloop_gateway_best_of_n_requests_total', () =>
      new Counter({ name: 'outerloop_gateway_best_of_n_requests_total', help: 'Chat answers chosen by best-of-n (OUTERLOOP_GATEWAY_BEST_OF_N)', registers: r }));
    this.samples = metric(registry, 'outerloop_gateway_best_of_n_samples_total', () =>
      new Counter({ name: 'outerloop_gateway_best_of_n_samples_total', help: 'Answers sampled for best-of-n (n per chosen answer)', registers: r }));
    this.extraTokens = metric(registry, 'outerloop_gateway_best_of_n_extra_tokens_total', () =>
      new Counter({ name: 'outerloop_gateway_best_of_n_extra_tokens_total', help: 'Tokens generated for best-of-n samples that were not returned: the extra cost of the mode', registers: r }));
    this.klBound = metric(registry, 'outerloop_gateway_best_of_n_kl_bound_nats', () =>
      new Gauge({ name: 'outerloop_gateway_best_of_n_kl_bound_nats', help: 'KL of the best-of-n answers from the served policy, at most log n - (n-1)/n nats', registers: r }));
    this.chosenScore = metric(registry, 'outerloop_gateway_best_of_n_last_chosen_score', () =>
      new Gauge({ name: 'outerloop_gateway_best_of_n_last_chosen_score', help: 'Reward-model score of the last answer best-of-n returned', registers: r }));
  }
}

export class BestOfNMode {
  private loading: Promise<BestOfNRanker> | null = null;
  private ranker: BestOfNRanker | null = null;
  private lastError: string | null = null;

  constructor(
    readonly n: number,
    private readonly load: () => Promise<BestOfNRanker>,
    private readonly metrics: BestOfNMetrics,
  ) {
    this.metrics.klBound.set(Math.log(n) - (n - 1) / n);
  }

  /** For /readyz: up once the RM is loaded; before that, why not. */
  health(): { up: boolean; detail?: string } {
    if (this.ranker) return { up: true };
    return { up: false, detail: this.lastError ?? 'loading the best-of-n reward model' };
  }

  /** Starts loading (at bootstrap); a failure is remembered for /readyz and retried on the next request. */
  warmUp(): void {
    void this.rankerOrThrow().catch(() => undefined /* reported by health() and by the next request */);
  }

  private async rankerOrThrow(): Promise<BestOfNRanker> {
    if (this.ranker) return this.ranker;
    this.loading ??= this.load().then(
      (r) => {
        this.ranker = r;
        this.lastError = null;
        return r;
      },
      (e: unknown) => {
        this.loading = null;
        this.lastError = `best-of-n reward model unavailable: ${(e as Error).message}`;
        throw e;
      },
    );
    return this.loading;
  }

  /**
   * The best of `answers` by the RM (first on ties) with its report. A ranker that cannot
   * be loaded is a 503 naming the reason (the configuration asks for best-of-n; serving
   * plain samples instead would hide that).
   */
  async choose(messages: readonly ChatMessage[], answers: readonly { text: string; completionTokens: number }[]): Promise<BestOfNReport> {
    let ranker: BestOfNRanker;
    try {
      ranker = await this.rankerOrThrow();
    } catch {
      throw GatewayError.unavailable(this.lastError ?? 'best-of-n reward model unavailable', 5, 'best_of_n_unavailable');
    }
    const scores = await ranker.score(messages, answers.map((a) => a.text));
    let best = 0;
    for (let k = 1; k < scores.length; k++) if (scores[k]! > scores[best]!) best = k;
    const sampled = answers.reduce((s, a) => s + a.completionTokens, 0);
    const extra = sampled - answers[best]!.completionTokens;
    this.metrics.requests.inc();
    this.metrics.samples.inc(answers.length);
    this.metrics.extraTokens.inc(extra);
    this.metrics.chosenScore.set(scores[best]!);
    return { n: answers.length, reward_model_version: ranker.rewardModelVersion, kl_bound_nats: ranker.klBound, chosen_index: best, scores, sampled_completion_tokens: sampled, extra_completion_tokens: extra };
  }

  async close(): Promise<void> {
    const r = this.ranker ?? (this.loading ? await this.loading.catch(() => null) : null);
    await r?.close();
  }
}
