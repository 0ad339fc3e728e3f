// Progress events leave in order without making the handler wait, and an unavailable
// bus costs one failed publish, not one per queued report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressStream } from '../../../../src/platform/jobs/job-events.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import type { JobProgress } from '../../../../src/platform/messaging/events.js';

const report = (step: number): JobProgress => ({ step, total: 10, loss: null, metrics: {}, tokensPerSecond: null, etaSeconds: null });

/** a publish whose outcome the test decides, one call at a time */
class ControlledBus {
  readonly calls: number[] = [];
  private pending: Array<(ok: boolean) => void> = [];
  publish = (p: JobProgress): Promise<boolean> => {
    this.calls.push(p.step);
    return new Promise((resolve) => this.pending.push(resolve));
  };
  async answer(ok: boolean): Promise<void> {
    for (let i = 0; i < 100 && this.pending.length === 0; i++) await new Promise((r) => setImmediate(r));
    const next = this.pending.shift();
    assert.ok(next, 'a publish is in flight');
    next(ok);
  }
}

describe('ProgressStream', () => {
  it('publishes every report in order, one at a time, and flush waits for the last', async () => {
    const bus = new ControlledBus();
    const stream = new ProgressStream(bus.publish, new Logger('test'), 'job-1');
    for (let step = 1; step <= 3; step++) stream.push(report(step));
    assert.deepEqual(bus.calls, [1], 'one publish in flight; push did not wait for it');
    let flushed = false;
    const flush = stream.flush().then(() => (flushed = true));
    await bus.answer(true);
    await bus.answer(true);
    assert.equal(flushed, false);
    await bus.answer(true);
    await flush;
    assert.deepEqual(bus.calls, [1, 2, 3]);
  });

  it('when a publish fails, the reports queued behind it are dropped; later ones go out', async () => {
    const bus = new ControlledBus();
    const stream = new ProgressStream(bus.publish, new Logger('test'), 'job-2');
    for (let step = 1; step <= 4; step++) stream.push(report(step));
    await bus.answer(false); // the bus is down: 2, 3 and 4 are not tried one by one
    await stream.flush();
    stream.push(report(5));
    await bus.answer(true);
    await stream.flush();
    assert.deepEqual(bus.calls, [1, 5]);
  });

  it('keeps at most `capacity` reports waiting, dropping the oldest', async () => {
    const bus = new ControlledBus();
    const stream = new ProgressStream(bus.publish, new Logger('test'), 'job-3', 2);
    for (let step = 1; step <= 5; step++) stream.push(report(step));
    await bus.answer(true);
    await bus.answer(true);
    await bus.answer(true);
    await stream.flush();
    assert.deepEqual(bus.calls, [1, 4, 5]);
  });
});
