// Issue 2's acceptance on the real binary: the embedded default comes up healthy
// and ready within 30 s; bad configuration exits non-zero naming the variable;
// unreachable dependencies keep /readyz false while the process retries and says
// what it waits for; SIGTERM shuts down cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { freePort, getStatus, mainJs, repoRoot, startOuterloop, waitFor } from '../support/process.js';

test('embedded start: /healthz and /readyz answer 200 within 30 s; SIGTERM exits 0', async () => {
  const started = Date.now();
  const p = await startOuterloop(['start'], {});
  try {
    await waitFor('/healthz 200', async () => ((await getStatus(`${p.url}/healthz`)) === 200 ? true : undefined), 30_000, p.output);
    await waitFor('/readyz 200', async () => ((await getStatus(`${p.url}/readyz`)) === 200 ? true : undefined), 30_000 - (Date.now() - started), p.output);
    // ready means ready for traffic: the gateway's policy is loaded, so a chat answers at once
    const ready = (await (await fetch(`${p.url}/readyz`)).json()) as { roles?: Record<string, { up: boolean }> };
    assert.deepEqual(ready.roles?.['gateway.policy'], { up: true });
    const chat = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'outerloop', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }) });
    assert.equal(chat.status, 200, await chat.clone().text());
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    assert.match(metrics, /outerloop_process_resident_memory_bytes/);
    assert.match(metrics, /outerloop_http_request_duration_seconds_bucket\{.*route="\/readyz".*status="200"/);
    assert.match(metrics, /outerloop_role_up\{outerloop_role="orchestrator"/);
  } finally {
    const { code } = await p.stop('SIGTERM');
    assert.equal(code, 0, p.output().slice(-3000));
  }
  // production logs are one JSON object per line
  for (const line of p.output().split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), line);
});

test('bad configuration: non-zero exit and a message naming the variable', () => {
  const r = spawnSync(process.execPath, [mainJs, 'start'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', OUTERLOOP_MODE: 'distributed', OUTERLOOP_PORT: 'http' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /OUTERLOOP_PORT="http"/);
  const r2 = spawnSync(process.execPath, [mainJs, 'start'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', OUTERLOOP_MODE: 'distributed' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /OUTERLOOP_DATABASE_URL: required/);
  assert.match(r2.stderr, /OUTERLOOP_KAFKA_BROKERS: required/);
});

test('database and broker unreachable at start: /readyz 503, retries with backoff, logs what it waits for', async () => {
  const deadPg = await freePort();
  const deadKafka = await freePort();
  const p = await startOuterloop(['start', '--roles', 'orchestrator'], {
    OUTERLOOP_MODE: 'distributed',
    OUTERLOOP_DATABASE_URL: `postgres://outerloop:outerloop@127.0.0.1:${deadPg}/outerloop`,
    OUTERLOOP_KAFKA_BROKERS: `127.0.0.1:${deadKafka}`,
  });
  try {
    await waitFor('/healthz 200', async () => ((await getStatus(`${p.url}/healthz`)) === 200 ? true : undefined), 30_000, p.output);
    const r = await fetch(`${p.url}/readyz`);
    assert.equal(r.status, 503);
    const body = (await r.json()) as { ready: boolean; database: { up: boolean }; bus: { up: boolean } };
    assert.equal(body.ready, false);
    assert.equal(body.database.up, false);
    assert.equal(body.bus.up, false);
    await waitFor('two database retries logged', async () => {
      const waits = p.output().split('\n').filter((l) => l.includes('waiting for database'));
      return waits.length >= 2 ? waits : undefined;
    }, 20_000, p.output);
    assert.match(p.output(), /127\.0\.0\.1:\d+/);
    assert.ok(p.child.exitCode === null, 'the process must keep waiting, not crash-loop');
  } finally {
    await p.stop('SIGTERM');
  }
});
