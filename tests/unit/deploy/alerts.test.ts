// The Prometheus config and alert rules, checked by promtool itself: the config
// and rules load, every rule's unit tests in deploy/prometheus/alerts.test.yml
// pass, and each alert has at least one test and a section in docs/monitoring.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { requirePromtool } from './promtool.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const dir = join(root, 'deploy/prometheus');

function promtool(bin: string, ...args: string[]): string {
  const r = spawnSync(bin, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `promtool ${args.join(' ')} failed:\n${out}`);
  return out;
}

const alertNames = (parse(readFileSync(join(dir, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> }).groups
  .flatMap((g) => g.rules)
  .map((r) => r.alert)
  .filter((a): a is string => !!a);

test('promtool check config and check rules accept deploy/prometheus', (t) => {
  const bin = requirePromtool(t);
  if (!bin) return;
  assert.match(promtool(bin, 'check', 'config', 'prometheus.yml'), /SUCCESS: 1 rule files found/);
  assert.match(promtool(bin, 'check', 'rules', 'alerts.yml'), new RegExp(`SUCCESS: ${alertNames.length} rules found`));
});

test('promtool test rules: every alert rule passes its unit tests', (t) => {
  const bin = requirePromtool(t);
  if (!bin) return;
  assert.match(promtool(bin, 'test', 'rules', 'alerts.test.yml'), /SUCCESS/);
});

test('every alert has a unit test that expects it to fire, and a runbook section in docs/monitoring.md', () => {
  const tests = parse(readFileSync(join(dir, 'alerts.test.yml'), 'utf8')) as {
    tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
  };
  const firing = new Set(tests.tests.flatMap((x) => x.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
  const docs = readFileSync(join(root, 'docs/monitoring.md'), 'utf8');
  assert.ok(alertNames.length >= 6);
  for (const name of alertNames) {
    assert.ok(firing.has(name), `${name} has no test that expects it to fire`);
    assert.match(docs, new RegExp(`^#+ ${name}$`, 'm'), `docs/monitoring.md has no section for ${name}`);
  }
});
