// The official Python `openai` client (from PyPI, tests/infra/python.sh) against the
// gateway on the real engine: models.list/retrieve, chat, streaming, a tiny temperature
// and the error cases (tests/e2e/gateway/openai_client_check.py). The JS client's test
// (openai-client.test.ts) covers the same API from Node; two SDKs, two parsers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../support/process.js';
import { pythonBin, runTool } from './python-tools.js';
import { startGateway, type RunningGateway } from './support.js';

describe('gateway with the official Python openai client', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => gw?.close());

  it('models, chat, streaming, temperature 1e-39 and errors behave as with OpenAI', { timeout: 5 * 60_000 }, async (t) => {
    const bin = pythonBin(t);
    if (!bin) return;
    const r = await runTool(bin, 'python', [join(repoRoot, 'tests/e2e/gateway/openai_client_check.py'), gw.baseURL]);
    assert.equal(r.code, 0, r.output.slice(-6000));
    const summary = JSON.parse(r.output.trim().split('\n').pop()!) as { models: string[]; text: string; context_error: string };
    assert.equal(summary.models[0], 'outerloop');
    assert.equal(typeof summary.text, 'string');
    assert.equal(summary.context_error, 'context_length_exceeded');
  });
});
