import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeSplit, JUDGE_TRAIN_FRACTION } from '../../../../src/rlhf/reward/judge-split.js';

describe('judgeSplit', () => {
  const rows = Array.from({ length: 2000 }, (_, i) => ({ promptHash: `p${i % 400}`, i }));

  it('keeps every prompt on one side, is deterministic, and splits near the configured fraction', () => {
    const a = judgeSplit(rows);
    const b = judgeSplit([...rows].reverse());
    const trainPrompts = new Set(a.judgeTrain.map((r) => r.promptHash));
    const checkPrompts = new Set(a.judgeCheck.map((r) => r.promptHash));
    for (const p of trainPrompts) assert.ok(!checkPrompts.has(p), `prompt ${p} on both sides`);
    assert.equal(a.judgeTrain.length + a.judgeCheck.length, rows.length);
    assert.deepEqual(new Set(b.judgeTrain.map((r) => r.promptHash)), trainPrompts, 'the side depends on the prompt, not on row order');
    const share = trainPrompts.size / 400;
    assert.ok(Math.abs(share - JUDGE_TRAIN_FRACTION) < 0.08, `judge-train prompt share ${share}`);
  });

  it('refuses a fraction outside (0, 1), naming it', () => {
    assert.throws(() => judgeSplit(rows, 1), /judge trainFraction/);
  });
});
