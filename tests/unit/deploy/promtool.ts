// promtool (Debian's `prometheus` package, installed by tests/infra/prometheus.sh).
// Under CI=true a missing promtool fails the test; elsewhere the test is skipped
// with a message saying how to install it.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function findBinary(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function requireBinary(t: TestContext, name: 'promtool' | 'prometheus'): string | null {
  const path = findBinary(name);
  if (path) return path;
  const message = `${name} is not installed: run bash tests/infra/prometheus.sh (apt-get install -y prometheus)`;
  const ci = process.env.CI;
  // the same reading of CI as tests/integration/support/services.ts
  if (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0') throw new Error(`[CI=${ci}] ${message}`);
  t.skip(message);
  return null;
}

export function requirePromtool(t: TestContext): string | null {
  return requireBinary(t, 'promtool');
}
