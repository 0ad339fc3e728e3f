// The built app (`outerloop start --roles gateway`, embedded mode, a tiny policy so a
// generation costs milliseconds) fuzzed through its own OpenAPI document: the document
// is valid OpenAPI 3.1 (openapi-spec-validator), and schemathesis — positive and
// negative cases from the document's schemas — finds no 5xx and no response that
// departs from the document (status codes, content types, headers, body schemas).
// Bounded (examples per operation, one worker) to stay within ~2 minutes on a loaded
// 2-core machine. A failure prints schemathesis' report, with the curl to reproduce.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getStatus, repoRoot, startOuterloop, waitFor, type RunningProcess } from '../support/process.js';
import { tinyPolicyArtifact } from './support.js';
import { pythonBin, runTool } from './python-tools.js';

const MAX_EXAMPLES = Number(process.env.OUTERLOOP_FUZZ_EXAMPLES ?? 30);

describe('OpenAPI document and schemathesis fuzz run against the built gateway', () => {
  let gw: RunningProcess;
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'outerloop-fuzz-'));
    const policy = await tinyPolicyArtifact(7);
    gw = await startOuterloop(['start', '--roles', 'gateway'], { OUTERLOOP_MODE: 'embedded', OUTERLOOP_BASE_POLICY: policy, OUTERLOOP_LOG_LEVEL: 'warn' });
    await waitFor('/readyz 200', async () => ((await getStatus(`${gw.url}/readyz`)) === 200 ? true : undefined), 60_000, gw.output);
  });
  after(async () => {
    await gw?.stop('SIGTERM');
    await rm(work, { recursive: true, force: true });
  });

  it('GET /openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator)', async (t) => {
    const bin = pythonBin(t);
    if (!bin) return;
    const res = await fetch(`${gw.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/v1/chat/completions', '/v1/feedback', '/v1/feedback/batch', '/v1/models', '/v1/models/{id}']);
    const file = join(work, 'openapi.json');
    await writeFile(file, JSON.stringify(doc));
    const v = await runTool(bin, 'openapi-spec-validator', [file]);
    assert.equal(v.code, 0, v.output);
    assert.match(v.output, /OK/);
  });

  it(`schemathesis (${MAX_EXAMPLES} examples per operation): no 5xx, responses conform to the document`, { timeout: 10 * 60_000 }, async (t) => {
    const bin = pythonBin(t);
    if (!bin) return;
    const checks = [
      'not_a_server_error',
      'status_code_conformance',
      'content_type_conformance',
      'response_headers_conformance',
      'response_schema_conformance',
      // what the document says is invalid must be refused with a 4xx
      'negative_data_rejection',
    ];
    const r = await runTool(
      bin,
      'schemathesis',
      [
        'run', `${gw.url}/openapi.json`,
        '--checks', checks.join(','),
        '--mode', 'all',
        '--phases', 'examples,coverage,fuzzing',
        '--max-examples', String(MAX_EXAMPLES),
        '--seed', '20261129',
        '--workers', '1',
        '--request-timeout', '60',
        '--suppress-health-check', 'too_slow',
        '--report-dir', join(work, 'report'),
        // nothing left in the checkout: no example database between runs (the seed reproduces a run)
        '--generation-database', 'none',
      ],
      {
        // no colours in the captured report; the hooks keep most chat bodies on the served model
        env: { NO_COLOR: '1', SCHEMATHESIS_HOOKS: join(repoRoot, 'tests/e2e/gateway/fuzz_hooks.py') },
        // schemathesis and hypothesis keep state in the working directory: not in the checkout
        cwd: work,
      },
    );
    assert.equal(r.code, 0, `schemathesis found problems:\n${r.output.slice(-12_000)}\n--- gateway output ---\n${gw.output().slice(-3000)}`);
    assert.match(r.output, /passed/i);
    // the summary (operations, test cases, checks) in the test log
    for (const line of r.output.split('\n').slice(-40)) if (line.trim()) t.diagnostic(line);
  });
});
