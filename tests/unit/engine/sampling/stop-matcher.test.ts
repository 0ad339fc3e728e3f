import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StopMatcher } from '../../../../src/engine/sampling/index.js';

function run(stops: string[], chunks: string[]): { emitted: string[]; text: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  const emitted = chunks.map((c) => m.push(c));
  if (!m.stopped) emitted.push(m.flush());
  return { emitted, text: emitted.join(''), stopped: m.stopped };
}

describe('StopMatcher', () => {
  it('finds a stop spanning several chunks and excludes it from the output', () => {
    const r = run(['\nUser:'], ['Hello', ' there\n', 'Us', 'er: more']);
    assert.equal(r.text, 'Hello there');
    assert.equal(r.stopped, true);
    // the partial "\n" and "Us" were held back, never emitted
    assert.deepEqual(r.emitted, ['Hello', ' there', '', '']);
  });

  it('releases held text when the prefix turns out not to be a stop', () => {
    const r = run(['STOP'], ['abc S', 'TO', 'X def']);
    assert.equal(r.text, 'abc STOX def');
    assert.equal(r.stopped, false);
    assert.deepEqual(r.emitted.slice(0, 2), ['abc ', '']);
  });

  it('picks the earliest of several stops, also inside a single chunk', () => {
    assert.equal(run(['bb', 'a'], ['xxbbya']).text, 'xx');
    assert.equal(run(['END'], ['one END two']).text, 'one ');
  });

  it('held text is flushed at the end of generation; empty stops are ignored', () => {
    assert.equal(run(['abc'], ['xyzab']).text, 'xyzab');
    assert.equal(run([''], ['text']).text, 'text');
  });
});
