import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REFERENCE_GPT_CONFIG, ParameterSet, gptParameterCount, gptParameterLayout, validateGptConfig } from '../../../../src/engine/gpt/config.js';
import { initGptParameters, INIT_STD } from '../../../../src/engine/gpt/params.js';
import { ShapeError } from '../../../../src/engine/errors.js';

describe('GPT config and parameter blob', () => {
  it('the reference config has 1–5M parameters, laid out contiguously without gaps', () => {
    const n = gptParameterCount(REFERENCE_GPT_CONFIG);
    assert.ok(n >= 1e6 && n <= 5e6, `${n} parameters`);
    const C = REFERENCE_GPT_CONFIG.channels, V = REFERENCE_GPT_CONFIG.vocabSize, T = REFERENCE_GPT_CONFIG.maxSeqLen, L = REFERENCE_GPT_CONFIG.layers;
    // wte + wpe + L·(12C² + 13C) + final LN + two (C→1) heads
    assert.equal(n, V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C + 2 * (C + 1));
    let offset = 0;
    for (const s of gptParameterLayout(REFERENCE_GPT_CONFIG)) {
      assert.equal(s.offset, offset, s.name);
      offset += s.size;
    }
  });

  it('view() is a window onto the one blob, not a copy', () => {
    const p = new ParameterSet({ vocabSize: 10, maxSeqLen: 4, channels: 4, layers: 1, heads: 2 });
    p.view('h.0.attn.qkv.w')[5] = 42;
    const s = p.spec('h.0.attn.qkv.w');
    assert.equal(p.data[s.offset + 5], 42);
    assert.deepEqual(s.shape, [4, 12]);
    assert.throws(() => p.view('h.1.attn.qkv.w'), RangeError);
    assert.throws(() => new ParameterSet(p.config, new Float32Array(3)), ShapeError);
  });

  it('rejects a width not divisible by the head count, naming the fields', () => {
    assert.throws(() => validateGptConfig({ vocabSize: 10, maxSeqLen: 4, channels: 10, layers: 1, heads: 3 }), /channels.*heads/);
  });

  it('initialization is deterministic per seed and follows the GPT-2 scheme', () => {
    const cfg = { vocabSize: 64, maxSeqLen: 16, channels: 32, layers: 2, heads: 4 };
    const a = initGptParameters(cfg, 1), b = initGptParameters(cfg, 1), c = initGptParameters(cfg, 2);
    assert.deepEqual(a.data, b.data);
    assert.notDeepEqual(a.data, c.data);
    const std = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    assert.ok(Math.abs(std(a.view('wte')) - INIT_STD) < 0.002);
    assert.ok(Math.abs(std(a.view('h.1.mlp.proj.w')) - INIT_STD / Math.sqrt(4)) < 0.001, 'residual projections scaled by 1/√(2L)');
    assert.ok(a.view('h.0.ln1.w').every((v) => v === 1) && a.view('h.0.attn.qkv.b').every((v) => v === 0));
    assert.ok(a.view('reward_head.w').every((v) => v === 0), 'scalar heads start at 0');
  });
});
