// GET /openapi.json: the HTTP API as an OpenAPI 3.1 document, generated from the very
// zod schemas that validate the requests (chat-request.schema.ts, feedback.request.ts)
// and type the responses (response.schemas.ts). OpenAPI 3.1 schemas are JSON Schema
// 2020-12, which is what z.toJSONSchema emits. Checked in CI by openapi-spec-validator
// and fuzzed by schemathesis (tests/e2e/gateway/fuzz.test.ts).
import { z } from 'zod';
import { ChatCompletionRequestSchema } from '../chat/chat-request.schema.js';
import { FeedbackRequestSchema, MAX_FEEDBACK_BATCH } from '../feedback/feedback.request.js';
import { ErrorResponseSchema, FeedbackAcceptedSchema, ChatCompletionResponseSchema, ModelListSchema, ModelSchema } from './response.schemas.js';

type JsonSchema = Record<string, unknown>;

/** A component schema: JSON Schema 2020-12 without its `$schema` (the document's dialect is 2020-12). */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // unrepresentable 'any': refinements (e.g. "top_logprobs requires logprobs") are checked
  // at run time and answered with a 400; the document states the shape
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });

/** The errors every authenticated /v1 operation can answer, in OpenAI's error shape. */
function errors(...statuses: number[]): Record<string, unknown> {
  const why: Record<number, string> = {
    400: 'invalid request: the error names the field (param) and a stable code',
    401: 'missing, unknown or revoked API key',
    403: 'the key lacks the scope, or the completion was issued to another key, or (open mode) a non-loopback Host',
    404: 'unknown model or completion',
    408: 'the request did not arrive in time',
    413: 'request body too large',
    415: 'unsupported Content-Type or Content-Encoding',
    429: 'rate limit or capacity; see Retry-After',
    503: 'temporarily unable to serve (model loading, deadline, bus down); see Retry-After',
  };
  return Object.fromEntries(statuses.map((s) => [String(s), { description: why[s], content: json(ref('Error')) }]));
}

const RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit-requests': { description: "the key's requests per minute (keys with a limit)", schema: { type: 'string' } },
  'x-ratelimit-remaining-requests': { description: 'requests left before the limit', schema: { type: 'string' } },
  'x-ratelimit-reset-requests': { description: 'time until the limit is fully restored, e.g. "1s", "6m0s"', schema: { type: 'string' } },
};

export function openApiDocument(): JsonSchema {
  const feedbackBatch = z.union([
    z.object({ events: z.array(FeedbackRequestSchema).min(1).max(MAX_FEEDBACK_BATCH) }),
    z.array(FeedbackRequestSchema).min(1).max(MAX_FEEDBACK_BATCH),
  ]);
  const common = [400, 401, 403, 408, 413, 415, 429];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Outerloop gateway',
      version: '1',
      description: 'OpenAI-compatible chat completions and models, plus feedback on served completions. See docs/api.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }, {}],
    paths: {
      '/v1/chat/completions': {
        post: {
          operationId: 'createChatCompletion',
          summary: 'Chat completion (JSON, or server-sent events with stream: true)',
          requestBody: { required: true, content: json(ref('ChatCompletionRequest')) },
          responses: {
            '200': {
              description: 'the completion; with stream: true, chat.completion.chunk events ending with data: [DONE]',
              headers: RATE_LIMIT_HEADERS,
              content: { ...json(ref('ChatCompletion')), 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...errors(...common, 404, 503),
          },
        },
      },
      '/v1/models': {
        get: { operationId: 'listModels', summary: 'The routed alias and every servable version', responses: { '200': { description: 'models', content: json(ref('ModelList')) }, ...errors(401, 403, 429) } },
      },
      '/v1/models/{id}': {
        get: {
          operationId: 'retrieveModel',
          summary: 'One model by id',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'the model', content: json(ref('Model')) }, ...errors(401, 403, 404, 429) },
        },
      },
      '/v1/feedback': {
        post: {
          operationId: 'submitFeedback',
          summary: 'Feedback on one served completion (thumbs, rating, pairwise, edit)',
          requestBody: { required: true, content: json(ref('FeedbackRequest')) },
          responses: { '202': { description: 'durable on the bus', content: json(ref('FeedbackAccepted')) }, ...errors(...common, 404, 503) },
        },
      },
      '/v1/feedback/batch': {
        post: {
          operationId: 'submitFeedbackBatch',
          summary: `Up to ${MAX_FEEDBACK_BATCH} feedback events, all accepted or none`,
          requestBody: { required: true, content: json(ref('FeedbackBatchRequest')) },
          responses: { '202': { description: 'all durable on the bus', content: json(ref('FeedbackAccepted')) }, ...errors(...common, 404, 503) },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API key (ol-…); not needed in open mode' } },
      schemas: {
        ChatCompletionRequest: schemaOf(ChatCompletionRequestSchema, 'input'),
        ChatCompletion: schemaOf(ChatCompletionResponseSchema, 'output'),
        Model: schemaOf(ModelSchema, 'output'),
        ModelList: schemaOf(ModelListSchema, 'output'),
        FeedbackRequest: schemaOf(FeedbackRequestSchema, 'input'),
        FeedbackBatchRequest: schemaOf(feedbackBatch, 'input'),
        FeedbackAccepted: schemaOf(FeedbackAcceptedSchema, 'output'),
        Error: schemaOf(ErrorResponseSchema, 'output'),
      },
    },
  };
}
