// The reference gate policy is printed in docs/evaluation.md as YAML; this keeps the two equal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { REFERENCE_GATE_POLICY, gateMetricCatalog, parseGatePolicy } from '../../../../src/evaluation/index.js';
import { scenarioSuiteConfigs } from '../../../../src/scenario/eval-suites.js';

// compiled to dist/tests/unit/evaluation/gate/: five levels below the repository
const docs = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'docs', 'evaluation.md');

describe('docs/evaluation.md', () => {
  it('prints the reference gate policy exactly, and it is valid', () => {
    const text = readFileSync(docs, 'utf8');
    const block = /<!-- reference-gate-policy:start -->\s*```yaml\n([\s\S]*?)```\s*<!-- reference-gate-policy:end -->/.exec(text);
    assert.ok(block, 'the reference-gate-policy block is missing');
    const fromDocs: unknown = parse(block[1]!);
    assert.deepEqual(fromDocs, REFERENCE_GATE_POLICY);
    assert.equal(parseGatePolicy(fromDocs, gateMetricCatalog(scenarioSuiteConfigs())).rules.length, 14);
  });
});
