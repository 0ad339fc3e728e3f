// `--policy FILE` for `outerloop eval` and `outerloop gate`: JSON or YAML, validated
// against the suites' catalog; every refusal names the file (and the rule's path).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GatePolicyError, gateMetricCatalog } from '../../../../src/evaluation/index.js';
import { GatePolicyFileError, readGatePolicyFile } from '../../../../src/cli/gate-policy-file.js';
import { scenarioSuiteConfigs } from '../../../../src/scenario/eval-suites.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-policy-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const catalog = gateMetricCatalog(scenarioSuiteConfigs());
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('readGatePolicyFile', () => {
  it('reads the same policy from JSON and from YAML', async () => {
    const fromJson = await readGatePolicyFile(file('p.json', '{"name":"strict","rules":[{"metric":"extrinsic.correct.delta","use":"lower","min":0}]}'), catalog);
    const fromYaml = await readGatePolicyFile(file('p.yaml', 'name: strict\nrules:\n  - { metric: extrinsic.correct.delta, use: lower, min: 0 }\n'), catalog);
    assert.deepEqual(fromYaml, fromJson);
    assert.equal(fromJson.rules[0]!.comparator, '>=');
    assert.equal(fromJson.rules[0]!.statistic, 'lower');
  });

  it('refuses a wrong extension, broken JSON or YAML, and a typo in a metric, naming the file', async () => {
    await assert.rejects(readGatePolicyFile(file('p.txt', '{}'), catalog), (e: unknown) => e instanceof GatePolicyFileError && /p\.txt: a gate policy is a \.json, \.yaml or \.yml file/.test(e.message));
    await assert.rejects(readGatePolicyFile(file('broken.json', '{"name":'), catalog), (e: unknown) => e instanceof GatePolicyFileError && /broken\.json: not valid JSON/.test(e.message));
    await assert.rejects(readGatePolicyFile(file('broken.yml', 'rules: [\n'), catalog), (e: unknown) => e instanceof GatePolicyFileError && /broken\.yml: not valid YAML/.test(e.message));
    await assert.rejects(readGatePolicyFile(file('typo.yaml', 'name: t\nrules:\n  - { metric: extrinsic.corect.delta, min: 0 }\n'), catalog), (e: unknown) =>
      e instanceof GatePolicyError && e.problems.some((p) => /typo\.yaml\.rules\[0\]\.metric: unknown metric "extrinsic\.corect\.delta" \(did you mean "extrinsic\.correct\.delta"\?\)/.test(p)));
  });
});
