// The use case behind POST /v1/chat/completions, independent of HTTP framing
// (ChatService.run, given a ChatReply the controller adapts the HTTP reply to):
// parse, plan (validate the model, route to versions, assign completion ids), admit
// (a slot or 429), generate (stream tokens through callbacks), log every completion,
// and shadow-generate when a shadow version is deployed.
//
// Stop sequences are the engine's alone: its token events already hold back text that
// could start a stop string (engine/sampling/stop-matcher.ts), so what arrives here is
// safe to send as it comes.
//
// A stream's 200 is sent with its first token, not before: everything the engine
// checks when a row enters (context length, sampling parameters) and everything
// checked here (model, routing, admission) fails as a plain HTTP error, never as an
// error event after a 200.
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { renderChatPrompt, type ChatMessage } from '../../../engine/chat-template.js';
import { EngineError } from '../../../engine/errors.js';
import { Logger } from '../../../platform/logging/logger.js';
import type { AdmissionQueue } from '../admission/admission-queue.js';
import type { Caller } from '../auth/auth.service.js';
import type { CompletionLog } from '../completion-log/completion-log.js';
import type { GenerateResult, TokenEvent } from '../engine/policy-backend.js';
import { fromEngineError, GatewayError, toGatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { ModelNotServedError, type Lease, type ModelPool } from '../routing/model-pool.js';
import { assignVersion, ROUTED_MODEL_ALIASES, type Arm } from '../routing/router.js';
import { messageText, parseChatCompletionRequest, type ChatCompletionRequest } from './chat-request.schema.js';
import type { ModelList, ModelObject } from '../openapi/response.schemas.js';
import type { ChatPlan, ChoiceOutcome, ChoicePlan, SamplingPlan } from './chat-plan.js';
import type { BestOfNMode, BestOfNReport } from '../best-of-n/best-of-n-mode.js';
import { ChunkWriter, chatCompletionBody } from './chat-response.js';

/** Per-choice streaming callbacks; text arrives already cut before any stop sequence (by the engine). */
export interface ChoiceStreamSink {
  /** `bestOfN`: how best-of-n chose the answer that follows (its first chunk carries it) */
  onStart(choice: ChoicePlan, bestOfN?: BestOfNReport): void;
  onDelta(choice: ChoicePlan, text: string, logprobs: TokenEvent[]): void;
  onFinish(outcome: ChoiceOutcome): void;
}

export type StopCause = 'client-disconnect' | 'deadline';

export class RequestAbortedError extends Error {
  readonly retriable = true;
  constructor(readonly stopCause: StopCause) {
    super(stopCause === 'deadline' ? 'request deadline exceeded' : 'client disconnected');
    this.name = 'RequestAbortedError';
  }
}

/**
 * How the chat use case answers, implemented by the HTTP adapter (chat-http-reply.ts):
 * one JSON body, or server-sent events whose first one sends the 200 and the headers.
 */
export interface ChatReply {
  /** `listener` runs once if the client goes away before the answer is complete; returns an unsubscribe */
  onClientGone(listener: () => void): () => void;
  json(headers: Record<string, string>, body: unknown): void;
  /** one server-sent event; the first call sends the 200 with `headers` */
  event(headers: Record<string, string>, data: string): void;
  end(): void;
  /** an error as an HTTP status, or as a final error event when the stream has begun */
  fail(error: GatewayError): void;
  /** drop the connection (nobody is listening) */
  abandon(): void;
}

const ROUTE = '/v1/chat/completions';

function versionHeaders(plan: ChatPlan): Record<string, string> {
  return {
    'x-outerloop-model-version': [...new Set(plan.choices.map((c) => c.version))].join(','),
    'x-outerloop-completion-id': plan.choices.map((c) => c.completionId).join(','),
    ...(plan.bestOfN !== null ? { 'x-outerloop-best-of-n': String(plan.bestOfN), 'x-outerloop-best-of-n-kl-bound': (Math.log(plan.bestOfN) - (plan.bestOfN - 1) / plan.bestOfN).toFixed(6) } : {}),
  };
}

export interface ServiceSettings {
  defaultMaxTokens: number;
  deadlineMs: number;
}

/** The first message that identifies a conversation: ids are stable across its turns. */
function conversationIdFor(stickyKey: string, messages: ChatMessage[]): string {
  const first = messages.find((m) => m.role === 'user') ?? messages[0]!;
  const h = createHash('sha256').update(stickyKey).update('\u0000').update(first.role).update('\u0000').update(first.content).digest('hex');
  return `conv_${h.slice(0, 32)}`;
}

function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replace(/-/g, '')}`;
}

export class ChatService {
  private readonly log = new Logger('gateway.chat');

  constructor(
    private readonly pool: ModelPool,
    private readonly admission: AdmissionQueue,
    private readonly completions: CompletionLog,
    private readonly metrics: GatewayMetrics,
    private readonly settings: ServiceSettings,
    /** best-of-n serving (OUTERLOOP_GATEWAY_BEST_OF_N); null = plain sampling */
    private readonly bestOfN: BestOfNMode | null = null,
  ) {}

  /**
   * POST /v1/chat/completions, whole: every outcome — answer, stream, error,
   * disconnect — is delivered through `reply` and counted; this never rejects.
   */
  async run(body: unknown, caller: Caller, reply: ChatReply): Promise<void> {
    let plan: ChatPlan | null = null;
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(new RequestAbortedError('deadline')), this.settings.deadlineMs);
    const unsubscribe = reply.onClientGone(() => {
      if (!abort.signal.aborted) abort.abort(new RequestAbortedError('client-disconnect'));
    });
    try {
      plan = this.plan(parseChatCompletionRequest(body), caller);
      const release = await this.admit(plan, abort.signal);
      try {
        if (plan.stream) await this.stream(plan, reply, abort.signal);
        else reply.json(versionHeaders(plan), chatCompletionBody(plan, await this.execute(plan, abort.signal)));
      } finally {
        release();
      }
      this.count(200, plan);
    } catch (err) {
      this.fail(reply, plan, err);
    } finally {
      clearTimeout(deadline);
      unsubscribe();
    }
  }

  private async stream(plan: ChatPlan, reply: ChatReply, signal: AbortSignal): Promise<void> {
    const headers = versionHeaders(plan);
    const writer = new ChunkWriter(plan, (data) => reply.event(headers, data));
    const outcomes = await this.execute(plan, signal, {
      onStart: (c, bestOfN) => writer.start(c, bestOfN),
      onDelta: (c, text, tokens) => writer.delta(c, text, tokens),
      onFinish: (o) => writer.finish(o),
    });
    if (plan.includeUsage) writer.usage(outcomes);
    writer.done();
    reply.end();
  }

  private fail(reply: ChatReply, plan: ChatPlan | null, err: unknown): void {
    if (err instanceof RequestAbortedError) {
      if (err.stopCause === 'client-disconnect') {
        // Nobody is listening; 499 (nginx's "client closed request") for the metrics only.
        this.count(499, plan);
        reply.abandon();
        return;
      }
      err = GatewayError.unavailable('the request could not be served before its deadline; the server is busy', 1, 'deadline_exceeded');
    }
    const ge = toGatewayError(err);
    if (ge.status >= 500) this.log.error('chat request failed', err, { status: ge.status, code: ge.code });
    this.count(ge.status, plan);
    reply.fail(ge);
  }

  private count(status: number, plan: ChatPlan | null): void {
    this.metrics.requests.inc({ route: ROUTE, status: String(status), model_version: plan?.choices[0]?.version ?? 'none' });
  }

  /** GET /v1/models/{id}: one entry of the list, or 404 model_not_found. */
  retrieveModel(id: string): ModelObject {
    const model = this.listModels().data.find((m) => m.id === id);
    if (!model) throw GatewayError.modelNotFound(id);
    return model;
  }

  listModels(): ModelList {
    const created = Math.floor(Date.now() / 1000);
    const spec = this.pool.isReady() ? this.pool.deployment() : null;
    const data: ModelObject[] = [];
    if (spec) {
      data.push({
        id: ROUTED_MODEL_ALIASES[0],
        object: 'model',
        created,
        owned_by: 'outerloop',
        outerloop: { routed: true, production: spec.production, canary: spec.canary, deployment_id: spec.id },
      });
    }
    for (const version of this.pool.servableVersions()) {
      const role = spec?.production === version ? 'production' : spec?.canary?.version === version ? 'canary' : spec?.shadow === version ? 'shadow' : 'loaded';
      data.push({ id: version, object: 'model', created, owned_by: 'outerloop', outerloop: { routed: false, role } });
    }
    return { object: 'list', data };
  }

  /** Validate and route; throws 400/404/503 GatewayErrors. No slot is taken yet. */
  private plan(req: ChatCompletionRequest, caller: Caller): ChatPlan {
    const receivedAt = performance.now();
    if (!this.pool.isReady()) throw GatewayError.unavailable('no model is loaded yet; the gateway is starting', 2, 'model_loading');
    const spec = this.pool.deployment();
    const messages: ChatMessage[] = req.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: messageText(m.content),
    }));
    const sampling: SamplingPlan = {
      temperature: req.temperature ?? 1,
      topP: req.top_p ?? 1,
      maxTokens: req.max_completion_tokens ?? req.max_tokens ?? this.settings.defaultMaxTokens,
      stop: req.stop == null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop,
      logprobs: req.logprobs ?? false,
      topLogprobs: req.top_logprobs ?? 0,
    };
    const userId = req.user ?? null;
    // Stickiness needs an identity; a request with neither user nor key gets a
    // per-request draw (still routed by weight, just not sticky).
    const stickyKey = userId !== null ? `user:${userId}` : caller.apiKeyId !== null ? `key:${caller.apiKeyId}` : `anon:${randomUUID()}`;

    const routed = (ROUTED_MODEL_ALIASES as readonly string[]).includes(req.model);
    let primary: { version: string; arm: Arm | 'pinned' };
    if (routed) {
      primary = assignVersion(spec, stickyKey);
    } else {
      if (!this.pool.servableVersions().includes(req.model)) throw GatewayError.modelNotFound(req.model);
      primary = { version: req.model, arm: 'pinned' };
    }

    const compare = req.outerloop?.compare ?? null;
    const n = req.n ?? (compare ? 2 : 1);
    if (compare && n !== 2) throw GatewayError.invalid('n', `outerloop.compare asks for exactly 2 responses; n=${n}`);
    // seed → choice i uses seed+i: n=1 with the same seed reproduces the same text,
    // and the n samples of one request differ. Without a seed we draw one and log
    // it, so every completion can be regenerated.
    const baseSeed = req.seed ?? randomInt(0, 2 ** 31 - 1);
    let versions: Array<{ version: string; arm: Arm | 'pinned' }> = Array.from({ length: n }, () => primary);
    let comparisonMode: ChatPlan['comparisonMode'] = n >= 2 ? 'samples' : null;
    if (compare === 'versions') {
      const other =
        primary.version === spec.production ? (spec.canary ? { version: spec.canary.version, arm: 'canary' as const } : null) : { version: spec.production, arm: 'production' as const };
      if (other && this.pool.servableVersions().includes(other.version)) {
        // Random left/right position: raters favour one side otherwise (Zheng et al.
        // 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", position bias).
        versions = randomInt(0, 2) === 0 ? [primary, other] : [other, primary];
        comparisonMode = 'versions';
      }
      // Only one version deployed: two samples of it; the response says so (comparison.mode).
    }
    const choices: ChoicePlan[] = versions.map((v, index) => ({
      index,
      completionId: newCompletionId(),
      version: v.version,
      arm: v.arm,
      seed: (baseSeed + index) % 2 ** 31,
    }));
    return {
      receivedAt,
      created: Math.floor(Date.now() / 1000),
      requestedModel: req.model,
      messages,
      sampling,
      choices,
      comparisonId: n >= 2 ? `cmp_${randomUUID().replace(/-/g, '')}` : null,
      comparisonMode,
      conversationId: req.outerloop?.conversation_id ?? conversationIdFor(stickyKey, messages),
      caller,
      userId,
      shadowVersion: routed && spec.shadow && spec.shadow !== primary.version ? spec.shadow : null,
      stream: req.stream ?? false,
      includeUsage: req.stream_options?.include_usage ?? false,
      // a request for several answers or a comparison keeps its own samples: best-of-n is for the one answer a user gets
      bestOfN: this.bestOfN && n === 1 ? this.bestOfN.n : null,
    };
  }

  /**
   * Wait for generation slots. Resolves with a release function; rejects with 429
   * (queue full) or RequestAbortedError. Held until execute() ends.
   */
  private async admit(plan: ChatPlan, signal: AbortSignal): Promise<() => void> {
    this.metrics.queueDepth.set(this.admission.waiting + 1);
    try {
      // best-of-n samples its n answers at once, up to the gateway's capacity (the engine queues the rest)
      const slots = plan.bestOfN !== null ? Math.min(plan.bestOfN, this.admission.capacity) : plan.choices.length;
      const release = await this.admission.acquire(slots, signal);
      this.updateSlotGauges();
      return () => {
        release();
        this.updateSlotGauges();
      };
    } catch (err) {
      if (err instanceof GatewayError && err.status === 429) this.metrics.rejected.inc({ reason: 'queue_full' });
      throw this.abortReason(signal) ?? err;
    } finally {
      this.updateSlotGauges();
    }
  }

  private updateSlotGauges(): void {
    this.metrics.queueDepth.set(this.admission.waiting);
    this.metrics.activeGenerations.set(this.admission.activeSlots);
  }

  private abortReason(signal: AbortSignal): RequestAbortedError | null {
    if (!signal.aborted) return null;
    return signal.reason instanceof RequestAbortedError ? signal.reason : new RequestAbortedError('client-disconnect');
  }

  /**
   * Run every choice of an admitted plan concurrently on its version's engine and
   * log each completion. A deadline stop returns what was generated (finish_reason
   * 'length'); a client disconnect rejects with RequestAbortedError after logging
   * the cancelled completions.
   */
  private async execute(plan: ChatPlan, signal: AbortSignal, sink?: ChoiceStreamSink): Promise<ChoiceOutcome[]> {
    const leases: Lease[] = [];
    try {
      for (const c of plan.choices) leases.push(this.pool.acquire(c.version));
    } catch (err) {
      for (const l of leases) l.release();
      if (err instanceof ModelNotServedError) throw GatewayError.unavailable(`model version ${err.version} was just retired; retry`, 1, 'model_swapped');
      throw err;
    }
    this.maybeShadow(plan);
    // One failed choice stops its siblings: the request fails as a whole, and its
    // slots must not keep generating after the admission slots are released.
    const siblings = new AbortController();
    const choiceSignal = AbortSignal.any([signal, siblings.signal]);
    try {
      const outcomes = await Promise.all(
        plan.choices.map((c, i) =>
          (plan.bestOfN !== null ? this.runBestOfNChoice(plan, plan.bestOfN, c, leases[i]!, choiceSignal, sink) : this.runChoice(plan, c, leases[i]!, choiceSignal, sink)).catch((err: unknown) => {
            siblings.abort(err);
            throw err;
          }),
        ),
      );
      const aborted = this.abortReason(signal);
      if (aborted && aborted.stopCause === 'client-disconnect') throw aborted;
      return outcomes;
    } finally {
      for (const l of leases) l.release();
    }
  }

  private async runChoice(plan: ChatPlan, choice: ChoicePlan, lease: Lease, signal: AbortSignal, sink?: ChoiceStreamSink): Promise<ChoiceOutcome> {
    let firstTokenAt: number | null = null;
    let lastTokenAt = 0;
    const pendingLogprobs: TokenEvent[] = [];
    // onStart with the first token: the stream's 200 waits until the engine accepted the row
    let started = false;
    const start = () => {
      if (!started) sink?.onStart(choice);
      started = true;
    };
    const onToken = (t: TokenEvent) => {
      const now = performance.now();
      if (firstTokenAt === null) firstTokenAt = now;
      lastTokenAt = now;
      if (!sink) return;
      start();
      if (plan.sampling.logprobs) pendingLogprobs.push(t);
      // an event whose text is held back (a possible stop sequence) keeps its logprob for the next delta
      if (t.text) sink.onDelta(choice, t.text, pendingLogprobs.splice(0));
    };
    let result: GenerateResult;
    try {
      result = await lease.backend.generate(
        {
          prompt: renderChatPrompt(plan.messages),
          maxTokens: plan.sampling.maxTokens,
          temperature: plan.sampling.temperature,
          topP: plan.sampling.topP,
          seed: choice.seed,
          stop: plan.sampling.stop,
          logprobs: plan.sampling.logprobs,
          topLogprobs: plan.sampling.topLogprobs,
          signal,
        },
        onToken,
      );
    } catch (err) {
      throw err instanceof EngineError ? fromEngineError(err) : err;
    }
    const end = performance.now();
    if (sink) {
      start();
      if (pendingLogprobs.length) sink.onDelta(choice, '', pendingLogprobs.splice(0));
    }
    const cause = this.abortReason(signal)?.stopCause ?? null;
    const outcome: ChoiceOutcome = {
      plan: choice,
      result,
      finishReason: result.finishReason === 'stop' ? 'stop' : 'length',
      ttftMs: (firstTokenAt ?? end) - plan.receivedAt,
      latencyMs: end - plan.receivedAt,
    };
    this.observe(choice.version, outcome, firstTokenAt, lastTokenAt, plan.stream);
    if (result.finishReason === 'cancelled') this.metrics.cancelled.inc({ reason: cause ?? 'engine' });
    this.record(plan, choice, outcome, false);
    if (sink && cause !== 'client-disconnect') sink.onFinish(outcome);
    return outcome;
  }

  /**
   * Best-of-n: sample n answers (sample k with seed + k, so n = 1 is the plain answer), let
   * the RM choose, and deliver only the chosen one — streamed as one delta, since nothing
   * can be sent before all n are scored. The completion log records the chosen answer
   * with the seed that produced it; every sampled token counts in the token metrics.
   */
  private async runBestOfNChoice(plan: ChatPlan, n: number, choice: ChoicePlan, lease: Lease, signal: AbortSignal, sink?: ChoiceStreamSink): Promise<ChoiceOutcome> {
    const params = {
      prompt: renderChatPrompt(plan.messages),
      maxTokens: plan.sampling.maxTokens,
      temperature: plan.sampling.temperature,
      topP: plan.sampling.topP,
      stop: plan.sampling.stop,
      logprobs: plan.sampling.logprobs,
      topLogprobs: plan.sampling.topLogprobs,
      signal,
    };
    let results: GenerateResult[];
    try {
      results = await Promise.all(Array.from({ length: n }, (_, k) => lease.backend.generate({ ...params, seed: (choice.seed + k) % 2 ** 31 })));
    } catch (err) {
      throw err instanceof EngineError ? fromEngineError(err) : err;
    }
    const aborted = this.abortReason(signal);
    if (aborted) throw aborted;
    const report = await this.bestOfN!.choose(plan.messages, results);
    const result = results[report.chosen_index]!;
    const chosen: ChoicePlan = { ...choice, seed: (choice.seed + report.chosen_index) % 2 ** 31 };
    const end = performance.now();
    const outcome: ChoiceOutcome = { plan: chosen, result, finishReason: result.finishReason === 'stop' ? 'stop' : 'length', ttftMs: end - plan.receivedAt, latencyMs: end - plan.receivedAt, bestOfN: report };
    this.observe(choice.version, outcome, end, end, plan.stream);
    this.metrics.tokensGenerated.inc({ model_version: choice.version }, report.extra_completion_tokens);
    this.record(plan, chosen, outcome, false);
    if (sink) {
      sink.onStart(chosen, report);
      sink.onDelta(chosen, result.text, plan.sampling.logprobs ? result.tokens : []);
      sink.onFinish(outcome);
    }
    return outcome;
  }

  private observe(version: string, o: ChoiceOutcome, firstTokenAt: number | null, lastTokenAt: number, stream: boolean): void {
    this.metrics.tokensGenerated.inc({ model_version: version }, o.result.completionTokens);
    this.metrics.promptTokens.inc({ model_version: version }, o.result.promptTokens);
    if (firstTokenAt !== null) {
      this.metrics.ttft.observe({ model_version: version, stream: String(stream) }, o.ttftMs / 1000);
      if (o.result.completionTokens > 1) {
        this.metrics.timePerOutputToken.observe({ model_version: version }, (lastTokenAt - firstTokenAt) / 1000 / (o.result.completionTokens - 1));
      }
    }
  }

  private record(plan: ChatPlan, choice: ChoicePlan, o: ChoiceOutcome, shadow: boolean): void {
    this.completions.record({
      v: 1,
      eventId: choice.completionId,
      completionId: choice.completionId,
      conversationId: plan.conversationId,
      comparisonId: shadow ? null : plan.comparisonId,
      messages: plan.messages,
      response: o.result.text,
      modelVersion: choice.version,
      sampling: {
        temperature: plan.sampling.temperature,
        topP: plan.sampling.topP,
        maxTokens: plan.sampling.maxTokens,
        seed: choice.seed,
        stop: plan.sampling.stop,
      },
      promptTokens: o.result.promptTokens,
      completionTokens: o.result.completionTokens,
      finishReason: o.result.finishReason,
      ttftMs: Math.max(0, o.ttftMs),
      latencyMs: Math.max(0, o.latencyMs),
      userId: plan.userId,
      apiKeyId: plan.caller.apiKeyId,
      shadow,
      createdAt: new Date().toISOString(),
    });
  }

  /**
   * Shadow traffic: the same request on the shadow version, logged with
   * shadow=true, never shown. It only takes a slot that is free right now, so it
   * can never queue users or push them into 429.
   */
  private maybeShadow(plan: ChatPlan): void {
    if (!plan.shadowVersion) return;
    const release = this.admission.tryAcquire(1);
    if (!release) {
      this.metrics.shadowSkipped.inc();
      return;
    }
    let lease: Lease;
    try {
      lease = this.pool.acquire(plan.shadowVersion);
    } catch (err) {
      release();
      this.log.warn('shadow version not loaded; skipping', { version: plan.shadowVersion, error: String(err) });
      return;
    }
    const choice: ChoicePlan = { index: 0, completionId: newCompletionId(), version: plan.shadowVersion, arm: 'pinned', seed: plan.choices[0]!.seed };
    // The shadow is not tied to the client connection (its output is for us), only to the deadline.
    const deadline = AbortSignal.timeout(this.settings.deadlineMs);
    void this.runShadow(plan, choice, lease, deadline).finally(() => {
      lease.release();
      release();
      this.updateSlotGauges();
    });
  }

  private async runShadow(plan: ChatPlan, choice: ChoicePlan, lease: Lease, signal: AbortSignal): Promise<void> {
    let firstTokenAt: number | null = null;
    let lastTokenAt = 0;
    const started = performance.now();
    try {
      const result = await lease.backend.generate(
        {
          prompt: renderChatPrompt(plan.messages),
          maxTokens: plan.sampling.maxTokens,
          temperature: plan.sampling.temperature,
          topP: plan.sampling.topP,
          seed: choice.seed,
          stop: plan.sampling.stop,
          signal,
        },
        () => {
          const now = performance.now();
          if (firstTokenAt === null) firstTokenAt = now;
          lastTokenAt = now;
        },
      );
      const end = performance.now();
      const outcome: ChoiceOutcome = {
        plan: choice,
        result,
        finishReason: result.finishReason === 'stop' ? 'stop' : 'length',
        ttftMs: (firstTokenAt ?? end) - started,
        latencyMs: end - started,
      };
      this.observe(choice.version, outcome, firstTokenAt, lastTokenAt, false);
      this.record(plan, choice, outcome, true);
    } catch (err) {
      this.log.error('shadow generation failed', err, { version: choice.version });
    }
  }

  /** Aggregate engine stats into the batch-size gauge (called by the metrics scrape). */
  refreshEngineGauges(): void {
    for (const b of this.pool.backends()) {
      this.metrics.batchSize.set({ model_version: b.version }, b.backend.stats().lastBatchSize);
    }
    this.updateSlotGauges();
  }
}
