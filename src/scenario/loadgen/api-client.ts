// The one place where the simulated users meet the gateway's HTTP API. Paths and field
// names are configuration (GatewayApiShape) so that a change on the gateway side is a
// change here, not in the user logic. Retries: 429 honours Retry-After; 502/503/504 and
// network failures back off exponentially with jitter (also honouring Retry-After when
// given); every other status is a final, non-retriable error.

import type { ChatMessage } from '../../engine/chat-template.js';
import { type RandomSource, seededRng } from '../random.js';

export interface GatewayApiShape {
  chatPath: string;
  feedbackPath: string;
  /** sent as the request's `model` (the gateway requires one); 'outerloop' is the gateway's routed alias (production/canary split); null omits it */
  model: string | null;
  /** the field of each choice holding its own completion id (n > 1); with n = 1 the response's `id` is used when it is absent */
  choiceCompletionIdField: string;
  /**
   * `error.code` of a 404 that means "this completion is not ingested yet" (feedback
   * reached a replica before the completion did): retried up to `notFoundRetries` times
   * after Retry-After, as the gateway asks. Any other 404 is final.
   */
  notYetIngestedCode: string;
  notFoundRetries: number;
  feedbackFields: {
    completionId: string;
    type: string;
    value: string;
    otherCompletionId: string;
    editedResponse: string;
    comment: string;
    eventId: string;
    user: string;
  };
}

export const DEFAULT_GATEWAY_API: GatewayApiShape = {
  chatPath: '/v1/chat/completions',
  feedbackPath: '/v1/feedback',
  model: 'outerloop',
  choiceCompletionIdField: 'completion_id',
  notYetIngestedCode: 'completion_not_found',
  notFoundRetries: 2,
  feedbackFields: {
    completionId: 'completion_id',
    type: 'type',
    value: 'value',
    otherCompletionId: 'other_completion_id',
    editedResponse: 'edited_response',
    comment: 'comment',
    eventId: 'event_id',
    user: 'user',
  },
};

export interface RetryPolicy {
  /** attempts per operation, the first included */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** a Retry-After longer than this is capped (a misconfigured server must not stall the run) */
  maxRetryAfterMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  requestTimeoutMs: 120_000,
};

export class GatewayHttpError extends Error {
  constructor(
    /** HTTP status, or 'network' / 'timeout' when no response arrived */
    readonly status: number | 'network' | 'timeout',
    readonly retriable: boolean,
    message: string,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'GatewayHttpError';
  }
}

export interface ChatRequest {
  messages: ChatMessage[];
  n: 1 | 2;
  /** the simulated user's id, sent as OpenAI's `user` field */
  user: string;
  maxTokens?: number;
  temperature?: number;
  /** n = 2 only: the gateway's `outerloop.compare` extension — two samples of one version, or production vs canary */
  compare?: 'samples' | 'versions';
}

export interface ChatCompletionChoice {
  completionId: string;
  content: string;
}

export interface ChatResult {
  choices: ChatCompletionChoice[];
  attempts: number;
  latencyMs: number;
}

export interface FeedbackRequest {
  completionId: string;
  type: 'thumbs' | 'rating' | 'pairwise' | 'edit';
  value: number | null;
  otherCompletionId?: string;
  editedResponse?: string;
  comment?: string;
  /** idempotency key: a retried feedback request must not count twice */
  eventId: string;
  /** the simulated user's id (attribution, like the chat request's `user`) */
  user?: string;
}

export interface CallResult {
  attempts: number;
  latencyMs: number;
}

/** Every HTTP attempt, for the load summary: status (or network/timeout) and whether it will be retried. */
export type AttemptObserver = (operation: 'chat' | 'feedback', status: number | 'network' | 'timeout') => void;

export interface GatewayClientOptions {
  baseUrl: string;
  apiKey?: string;
  api?: Partial<GatewayApiShape>;
  retry?: Partial<RetryPolicy>;
  onAttempt?: AttemptObserver;
  /** jitter source; seeded so a run's retry timing is reproducible in tests */
  jitter?: RandomSource;
}

const RETRIABLE_STATUSES = new Set([429, 502, 503, 504]);

/** Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). null when absent or unparseable. */
export function parseRetryAfterMs(header: string | null, nowMs: number = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

/** `error.code` of an OpenAI-style error body, or null. */
function errorCodeOf(body: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    if (err instanceof SyntaxError) return null; // not JSON: not the structured error we look for
    throw err;
  }
  const code = (parsed as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : null;
}

export class GatewayClient {
  private readonly api: GatewayApiShape;
  private readonly retry: RetryPolicy;
  private readonly baseUrl: string;
  private readonly jitter: RandomSource;

  constructor(private readonly options: GatewayClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch (err) {
      throw new RangeError(`baseUrl "${options.baseUrl}" is not a valid URL: ${(err as Error).message}`);
    }
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.api = { ...DEFAULT_GATEWAY_API, ...options.api, feedbackFields: { ...DEFAULT_GATEWAY_API.feedbackFields, ...options.api?.feedbackFields } };
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (!(this.retry.maxAttempts >= 1)) throw new RangeError(`retry.maxAttempts must be ≥ 1, got ${this.retry.maxAttempts}`);
    this.jitter = options.jitter ?? seededRng(0x5eed);
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const body: Record<string, unknown> = {
      messages: request.messages,
      n: request.n,
      user: request.user,
      stream: false,
    };
    if (this.api.model !== null) body.model = this.api.model;
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.compare !== undefined) {
      if (request.n !== 2) throw new RangeError(`chat: compare="${request.compare}" needs n=2, got n=${request.n}`);
      body.outerloop = { compare: request.compare };
    }
    const { json, attempts, latencyMs } = await this.post('chat', this.api.chatPath, body);
    return { choices: this.parseChoices(json, request.n), attempts, latencyMs };
  }

  async sendFeedback(feedback: FeedbackRequest): Promise<CallResult> {
    const f = this.api.feedbackFields;
    const body: Record<string, unknown> = {
      [f.completionId]: feedback.completionId,
      [f.type]: feedback.type,
      [f.value]: feedback.value,
      [f.eventId]: feedback.eventId,
    };
    if (feedback.otherCompletionId !== undefined) body[f.otherCompletionId] = feedback.otherCompletionId;
    if (feedback.editedResponse !== undefined) body[f.editedResponse] = feedback.editedResponse;
    if (feedback.comment !== undefined) body[f.comment] = feedback.comment;
    if (feedback.user !== undefined) body[f.user] = feedback.user;
    const { attempts, latencyMs } = await this.post('feedback', this.api.feedbackPath, body);
    return { attempts, latencyMs };
  }

  private parseChoices(json: unknown, n: number): ChatCompletionChoice[] {
    const fail = (what: string): never => {
      throw new GatewayHttpError(200, false, `chat response: ${what}`, 1);
    };
    if (typeof json !== 'object' || json === null) return fail('body is not a JSON object');
    const response = json as { id?: unknown; choices?: unknown };
    if (!Array.isArray(response.choices)) return fail('field "choices" is missing or not an array');
    if (response.choices.length !== n) fail(`asked for n=${n}, got ${response.choices.length} choices`);
    return response.choices.map((raw: unknown, index: number) => {
      const choice = raw as Record<string, unknown> & { message?: { content?: unknown } };
      const content = choice?.message?.content;
      if (typeof content !== 'string') return fail(`choices[${index}].message.content is not a string`);
      const own = choice[this.api.choiceCompletionIdField];
      const completionId = typeof own === 'string' && own !== '' ? own : n === 1 && typeof response.id === 'string' ? response.id : null;
      if (completionId === null) return fail(`choices[${index}].${this.api.choiceCompletionIdField} is missing (needed to address feedback)`);
      return { completionId, content };
    });
  }

  private backoffMs(attempt: number): number {
    // full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): spreads the
    // retries of many simulated users instead of synchronising them against the gateway
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return cap / 2 + this.jitter.next() * (cap / 2);
  }

  private async post(operation: 'chat' | 'feedback', path: string, body: unknown): Promise<{ json: unknown; attempts: number; latencyMs: number }> {
    const started = performance.now();
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const payload = JSON.stringify(body);
    let notFoundRetriesLeft = this.api.notFoundRetries;
    for (let attempt = 1; ; attempt++) {
      let status: number | 'network' | 'timeout';
      let waitMs: number;
      let detail: string;
      try {
        const response = await fetch(`${this.baseUrl}${path}`, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(this.retry.requestTimeoutMs) });
        status = response.status;
        const text = await response.text();
        this.options.onAttempt?.(operation, status);
        if (response.ok) {
          let json: unknown = null;
          if (text !== '') {
            try {
              json = JSON.parse(text);
            } catch (err) {
              throw new GatewayHttpError(status, false, `${operation}: response is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`, attempt);
            }
          }
          return { json, attempts: attempt, latencyMs: performance.now() - started };
        }
        detail = text.slice(0, 300);
        const notYetIngested = status === 404 && notFoundRetriesLeft > 0 && errorCodeOf(text) === this.api.notYetIngestedCode;
        if (notYetIngested) notFoundRetriesLeft--;
        else if (!RETRIABLE_STATUSES.has(status)) throw new GatewayHttpError(status, false, `${operation}: HTTP ${status}: ${detail}`, attempt);
        const retryAfter = parseRetryAfterMs(response.headers.get('retry-after'));
        waitMs = retryAfter !== null ? Math.min(retryAfter, this.retry.maxRetryAfterMs) : this.backoffMs(attempt);
      } catch (err) {
        if (err instanceof GatewayHttpError) throw err;
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        status = timedOut ? 'timeout' : 'network';
        detail = err instanceof Error ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err);
        this.options.onAttempt?.(operation, status);
        waitMs = this.backoffMs(attempt);
      }
      if (attempt >= this.retry.maxAttempts) {
        throw new GatewayHttpError(status, true, `${operation}: gave up after ${attempt} attempts, last ${status}: ${detail}`, attempt);
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
