import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLogging } from '../../../../../src/platform/logging/logger.js';
import { CompletionLog } from '../../../../../src/services/gateway/completion-log/completion-log.js';
import { CompletionSpool } from '../../../../../src/platform/spool/completion-spool.js';
import { MemoryBus } from '../support/memory-bus.js';
import { eventually } from '../../../../support/eventually.js';

configureLogging({ format: 'json', level: 'error' });
const opts = { batchSize: 3, publishTimeoutMs: 200, retryMinMs: 5, retryMaxMs: 20, maxInMemory: 100 };

function completion(i: number) {
  return {
    v: 1 as const,
    eventId: `c${i}`,
    completionId: `c${i}`,
    conversationId: `conv${i % 3}`,
    messages: [{ role: 'user' as const, content: `q${i}` }],
    response: `a${i}`,
    modelVersion: 'v1',
    sampling: { temperature: 1, topP: 1, maxTokens: 16, seed: i, stop: [] },
    promptTokens: 3,
    completionTokens: 4,
    finishReason: 'stop' as const,
    ttftMs: 1,
    latencyMs: 2,
    userId: null,
    apiKeyId: null,
    createdAt: new Date().toISOString(),
  };
}

describe('CompletionLog', () => {
  it('bus fails then recovers: every completion arrives, in order, none twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    try {
      const bus = new MemoryBus();
      const counts = { published: 0, spooled: 0, dropped: 0 };
      const log = new CompletionLog(bus, new CompletionSpool(join(dir, 's.sqlite'), 1000), {
        onPublished: (n) => (counts.published += n),
        onSpooled: (n) => (counts.spooled += n),
        onDropped: (n) => (counts.dropped += n),
      }, opts);
      for (let i = 0; i < 4; i++) log.record(completion(i));
      await log.whenIdle();
      bus.down = true;
      for (let i = 4; i < 14; i++) log.record(completion(i));
      await eventually('the spool to take the completions the bus refused', () => log.spooled() >= 9);
      bus.down = false;
      for (let i = 14; i < 20; i++) log.record(completion(i));
      await log.whenIdle();
      assert.deepEqual(bus.published.map((p) => p.value.completionId), Array.from({ length: 20 }, (_, i) => `c${i}`));
      assert.equal(counts.published, 20);
      assert.equal(counts.dropped, 0);
      assert.ok(counts.spooled >= 10);
      await log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the spool survives a restart and is flushed by the next process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    try {
      const path = join(dir, 's.sqlite');
      const downBus = new MemoryBus();
      downBus.down = true;
      const first = new CompletionLog(downBus, new CompletionSpool(path, 1000), {}, opts);
      for (let i = 0; i < 7; i++) first.record(completion(i));
      await new Promise((r) => setTimeout(r, 30));
      await first.close();
      assert.equal(downBus.published.length, 0);

      const bus = new MemoryBus();
      const second = new CompletionLog(bus, new CompletionSpool(path, 1000), {}, opts);
      await second.whenIdle();
      assert.deepEqual(bus.published.map((p) => p.value.completionId), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a full spool counts what it could not keep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    try {
      const bus = new MemoryBus();
      bus.down = true;
      let dropped = 0;
      const log = new CompletionLog(bus, new CompletionSpool(join(dir, 's.sqlite'), 5), { onDropped: (n) => (dropped += n) }, opts);
      for (let i = 0; i < 8; i++) log.record(completion(i));
      await eventually('the spool to fill and count the rest as dropped', () => dropped === 3);
      assert.equal(log.spooled(), 5);
      assert.equal(dropped, 3);
      bus.down = false;
      await log.whenIdle();
      assert.deepEqual(bus.published.map((p) => p.value.completionId), ['c0', 'c1', 'c2', 'c3', 'c4']);
      await log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an invalid completion event (a programming error, not a bus problem)', () => {
    const log = new CompletionLog(new MemoryBus(), new CompletionSpool(':memory:', 10), {}, opts);
    assert.throws(() => log.record({ ...completion(1), messages: [] }), /messages/);
  });
});
