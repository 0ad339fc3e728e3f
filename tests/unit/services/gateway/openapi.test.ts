// GET /openapi.json on the real gateway module: the document is generated from the
// request schemas that validate the requests, and what the gateway actually sends
// parses with the response schemas the document is generated from.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ChatCompletionRequestSchema } from '../../../../src/services/gateway/chat/chat-request.schema.js';
import { openApiDocument } from '../../../../src/services/gateway/openapi/openapi.document.js';
import { ChatCompletionResponseSchema, ErrorResponseSchema, ModelListSchema, ModelSchema } from '../../../../src/services/gateway/openapi/response.schemas.js';
import { startTestGateway, type TestGateway } from './support/test-gateway.js';

describe('GET /openapi.json', () => {
  let g: TestGateway;
  before(async () => {
    g = await startTestGateway({ options: { auth: 'required' } });
  });
  after(async () => g.close());

  it('is public, OpenAPI 3.1, and its chat request schema is the validating zod schema', async () => {
    const res = await fetch(`${g.url}/openapi.json`);
    assert.equal(res.status, 200, 'no API key needed for the document');
    const doc = (await res.json()) as any;
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc, JSON.parse(JSON.stringify(openApiDocument())));
    const { $schema: _dialect, ...chat } = z.toJSONSchema(ChatCompletionRequestSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    assert.deepEqual(doc.components.schemas.ChatCompletionRequest, JSON.parse(JSON.stringify(chat)));
    assert.equal(doc.components.schemas.ChatCompletionRequest.properties.temperature.anyOf[0].maximum, 2);
    for (const op of ['/v1/chat/completions', '/v1/feedback', '/v1/feedback/batch']) assert.ok(doc.paths[op].post.responses['400'], `${op} documents its 400`);
  });
});

describe('responses conform to the documented schemas', () => {
  let g: TestGateway;
  before(async () => {
    g = await startTestGateway();
  });
  after(async () => g.close());

  it('chat (with logprobs and n=2), models, one model and an error parse with their response schemas', async () => {
    const chat = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'outerloop', messages: [{ role: 'user', content: 'hi' }], n: 2, logprobs: true, top_logprobs: 2 }),
    });
    ChatCompletionResponseSchema.parse(await chat.json());
    ModelListSchema.parse(await (await fetch(`${g.url}/v1/models`)).json());
    ModelSchema.parse(await (await fetch(`${g.url}/v1/models/v1`)).json());
    ErrorResponseSchema.parse(await (await fetch(`${g.url}/v1/models/unknown`)).json());
  });
});
