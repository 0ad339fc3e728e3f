// No Docker engine runs on the CI machine, so docker-compose.yml, the Prometheus
// config are checked here against the code: every Outerloop service's environment
// must be valid configuration, and every role must run and be scraped. The
// dashboards and alert rules are checked in dashboards.test.ts and alerts.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { EnvSchema, loadConfig, ROLES } from '../../../src/config/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  build?: { dockerfile: string };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const outerloopServices = Object.entries(compose.services).filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile');

test('compose runs each role as its own service from deploy/Dockerfile, plus migrate', () => {
  assert.ok(existsSync(join(root, 'deploy/Dockerfile')));
  const byRole = new Map<string, string>();
  for (const [name, s] of outerloopServices) {
    const cmd = s.command ?? [];
    if (cmd[0] === 'migrate') continue;
    assert.equal(cmd[0], 'start', `${name}: command must be start`);
    assert.equal(cmd[1], '--roles', `${name}: must name its role`);
    byRole.set(cmd[2]!, name);
    assert.equal(s.environment?.OUTERLOOP_ROLES, cmd[2], `${name}: OUTERLOOP_ROLES must match --roles`);
  }
  assert.deepEqual([...byRole.keys()].sort(), [...ROLES].sort());
  for (const infra of ['kafka', 'postgres', 'prometheus', 'grafana']) assert.ok(compose.services[infra], `missing ${infra}`);
});

test('every Outerloop service environment is valid configuration, distributed, and reaches compose hosts', () => {
  const known = new Set(Object.keys(EnvSchema.shape));
  for (const [name, s] of outerloopServices) {
    const env = s.environment ?? {};
    for (const k of Object.keys(env)) assert.ok(known.has(k), `${name}: ${k} is not a configuration variable`);
    const config = loadConfig(env, false);
    assert.equal(config.mode, 'distributed', name);
    assert.equal(config.http.host, '0.0.0.0', `${name} must listen on all interfaces inside its container`);
    assert.ok(config.database.type === 'postgres' && new URL(config.database.url).hostname in compose.services, `${name}: database host`);
    assert.ok(config.bus.type === 'kafka' && config.bus.brokers.every((b) => b.split(':')[0]! in compose.services), `${name}: kafka host`);
    for (const p of s.ports ?? []) assert.equal(p.split(':')[1], String(config.http.port), `${name}: port mapping must target OUTERLOOP_PORT`);
  }
});

test('kafka is single-node KRaft with replication factor 1 for internal topics', () => {
  const env = compose.services.kafka!.environment!;
  assert.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller');
  assert.equal(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '1');
  assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, '1');
});

test('prometheus scrapes every role at its port', () => {
  const prom = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ static_configs: Array<{ targets: string[]; labels: { role: string } }> }>;
  };
  const targets = prom.scrape_configs.flatMap((c) => c.static_configs);
  for (const role of ROLES) {
    const t = targets.find((x) => x.labels.role === role);
    assert.ok(t, `no scrape target for ${role}`);
    const [host, port] = t.targets[0]!.split(':');
    const svc = outerloopServices.find(([n]) => n === host);
    assert.ok(svc, `scrape host ${host} is not a compose service`);
    assert.equal(port, svc[1].environment?.OUTERLOOP_PORT);
  }
});
