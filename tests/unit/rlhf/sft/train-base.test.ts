// train-base end to end on a tiny model: SFT lowers the loss, the artifact is
// reproducible from the seed, reads back bit-exactly, and serves.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact } from '../../../../src/engine/artifact/artifact.js';
import { BatchEngine } from '../../../../src/engine/runtime/index.js';
import { runTrainBase, sftBatch, type BasePolicyExample } from '../../../../src/rlhf/sft/train-base.js';
import { renderChatExample } from '../../../../src/engine/chat-template.js';

const QA: Array<[string, string]> = [
  ['What is the capital of Velmora?', 'The capital of Velmora is Ostrand.'],
  ['How do I kill a Linux process?', 'Use kill with the process id.'],
  ['What is 2 plus 3?', '2 plus 3 is 5.'],
  ['Name a colour.', 'Blue is a colour.'],
];
const corpus: BasePolicyExample[] = Array.from({ length: 32 }, (_, i) => renderChatExample([{ role: 'user', content: QA[i % QA.length][0] }], QA[i % QA.length][1]));
const tiny = { channels: 32, layers: 1, heads: 2, maxSeqLen: 64 };

describe('train-base', () => {
  let root: string;
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('masks the prompt: loss only on completion targets, including the end marker', () => {
    const batch = sftBatch([{ ids: Int32Array.of(10, 11, 12, 13, 14), promptLength: 3 }, { ids: Int32Array.of(20, 21, 22), promptLength: 2 }], 0);
    const mask = batch.loss_mask as { data: Float32Array; shape: number[] };
    assert.deepEqual(mask.shape, [2, 4]);
    // row 0 targets 11,12,13,14 → 13 and 14 are completion; row 1 targets 21,22 → 22; padding 0
    assert.deepEqual([...mask.data], [0, 0, 1, 1, 0, 1, 0, 0]);
    const targets = batch.targets as { data: BigInt64Array };
    assert.deepEqual([...targets.data].map(Number), [11, 12, 13, 14, 21, 22, 0, 0]);
  });

  it('SFT lowers the loss; the same seed gives the same artifact id; the artifact reads back and serves', async () => {
    root = await mkdtemp(join(tmpdir(), 'outerloop-train-base-'));
    const run = (dir: string, seed: number) => runTrainBase({ outDir: join(root, dir), seed, corpus, steps: 60, config: tiny, vocabSize: 300, batchSize: 8, maxLr: 1e-2, intraOpThreads: 1 });
    const a = await run('a', 1);
    const first = a.result.losses.slice(0, 5).reduce((x, y) => x + y, 0) / 5;
    const last = a.result.losses.slice(-5).reduce((x, y) => x + y, 0) / 5;
    assert.ok(last < first * 0.5, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    const again = await run('b', 1);
    assert.equal(again.manifest.artifactId, a.manifest.artifactId, 'same seed, same weights');
    const loaded = await readArtifact(join(root, 'a'));
    assert.deepEqual(Buffer.from(loaded.params.data.buffer), Buffer.from(a.result.params.data.buffer));
    assert.equal(loaded.manifest.notes.steps, 60);
    assert.equal(loaded.manifest.kind, 'policy');
    const engine = await BatchEngine.load(join(root, 'a'), { maxBatch: 2, intraOpThreads: 1 });
    try {
      const r = await engine.generate({ prompt: corpus[0].prompt, maxTokens: 30, temperature: 0, topP: 1 });
      // a memorised 4-example corpus: greedy decoding reproduces the trained answer
      assert.equal(r.text, QA[0][1]);
      assert.equal(r.finishReason, 'stop');
    } finally {
      await engine.close();
    }
  });
});
