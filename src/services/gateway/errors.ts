// OpenAI's error object, so existing clients (the official SDKs, LangChain…)
// map our failures onto their own exception types: { error: { message, type, param, code } }.
// https://platform.openai.com/docs/guides/error-codes — the SDKs branch on the HTTP
// status (400, 401, 403, 404, 409, 422, 429, >=500), so the status matters most.
import { EngineError } from '../../engine/errors.js';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

export class GatewayError extends Error {
  /** extra response headers (e.g. x-ratelimit-* on a 429) */
  headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** seconds; sent as Retry-After on 429/503 */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /** Whether the same request may succeed later (429, 503, 5xx). */
  get retriable(): boolean {
    return this.status === 429 || this.status >= 500;
  }

  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers);
    return this;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** A validation error: 400 everywhere (chat, models, feedback), naming the field; code 'invalid_value' unless more specific. */
  static invalid(param: string | null, message: string, code = 'invalid_value'): GatewayError {
    return new GatewayError(400, 'invalid_request_error', message, param, code);
  }
  static unauthenticated(message: string): GatewayError {
    return new GatewayError(401, 'authentication_error', message, null, 'invalid_api_key');
  }
  static forbidden(message: string): GatewayError {
    return new GatewayError(403, 'permission_error', message, null, 'insufficient_scope');
  }
  static modelNotFound(model: string): GatewayError {
    return new GatewayError(404, 'invalid_request_error', `The model '${model}' does not exist or is not served here`, 'model', 'model_not_found');
  }
  static rateLimited(message: string, retryAfterSeconds: number, code = 'rate_limit_exceeded'): GatewayError {
    return new GatewayError(429, 'rate_limit_error', message, null, code, retryAfterSeconds);
  }
  static unavailable(message: string, retryAfterSeconds = 1, code = 'service_unavailable'): GatewayError {
    return new GatewayError(503, 'service_unavailable', message, null, code, retryAfterSeconds);
  }
}

/** The engine's sampling-parameter names → the request field a client sent. */
const ENGINE_FIELD_TO_PARAM: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  topP: 'top_p',
  topK: 'top_k',
  maxTokens: 'max_tokens',
  topLogprobs: 'top_logprobs',
  seed: 'seed',
  stop: 'stop',
  prompt: 'messages',
};

/**
 * An engine error (src/engine/errors.ts) as the client sees it, by its stable `code`:
 * what the client can fix is a 400 naming the field, what may pass is a 503 with
 * Retry-After, and a model that produced non-finite logits is a 503 without one (the
 * operator must act; nothing about the request was wrong).
 */
export function fromEngineError(err: EngineError): GatewayError {
  switch (err.code) {
    case 'context_length_exceeded':
      return GatewayError.invalid('messages', `This model's maximum context length is exceeded: ${err.message}. Shorten the messages or lower max_tokens.`, 'context_length_exceeded');
    case 'invalid_sampling_params': {
      const field = (err as EngineError & { field?: string }).field ?? '';
      return GatewayError.invalid(ENGINE_FIELD_TO_PARAM[field] ?? null, err.message, 'invalid_value');
    }
    case 'token_out_of_range':
      return GatewayError.invalid('messages', err.message, 'invalid_value');
    case 'engine_closed':
      return GatewayError.unavailable('the model version serving this request was just unloaded; retry', 1, 'model_swapped');
    case 'engine_run_failed':
      return GatewayError.unavailable('the inference engine failed on this batch; retry', 1, 'engine_unavailable');
    case 'non_finite':
      return new GatewayError(503, 'service_unavailable', 'the model produced non-finite logits for this request; the operator has been alerted', null, 'model_output_invalid');
    default:
      return new GatewayError(500, 'server_error', 'internal error while serving the request', null, 'internal_error');
  }
}

/**
 * Fastify's own 4xx errors (body parsing, content type, size) → a stable OpenAI code.
 * Fastify's FST_* codes are its internals and change between versions; clients get ours.
 */
function fromFrameworkError(status: number, e: { code?: string; message?: string }): GatewayError {
  if (status === 413) return new GatewayError(413, 'invalid_request_error', 'request body too large', null, 'request_too_large');
  if (status === 415) return new GatewayError(415, 'invalid_request_error', e.message ?? 'unsupported content type; send application/json', null, 'unsupported_media_type');
  if (status === 408) return new GatewayError(408, 'invalid_request_error', 'the request was not received in time', null, 'request_timeout');
  if (status === 400 && (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === undefined || e.code === 'ERR_INVALID_JSON')) {
    return GatewayError.invalid(null, `request body is not valid JSON: ${e.message ?? 'parse error'}`, 'invalid_json');
  }
  return new GatewayError(status, status === 404 ? 'not_found_error' : 'invalid_request_error', e.message ?? 'invalid request', null, status === 404 ? 'not_found' : 'invalid_request');
}

/** Maps anything thrown to a GatewayError; unknown errors become a 500 without leaking internals. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof EngineError) return fromEngineError(err);
  const e = err as { statusCode?: number; code?: string; message?: string };
  // Fastify's own errors (body too large, malformed JSON, wrong content type) carry a 4xx statusCode.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return fromFrameworkError(e.statusCode, e);
  return new GatewayError(500, 'server_error', 'internal error while serving the request', null, 'internal_error');
}
