import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact, writeArtifact, sha256Hex, PARAMS_FILE, DECODE_FILE, TOKENIZER_FILE, MANIFEST_FILE, type InferenceGraphExporter } from '../../../../src/engine/artifact/artifact.js';
import { ArtifactError } from '../../../../src/engine/errors.js';
import { ParameterSet, type GptConfig } from '../../../../src/engine/gpt/config.js';
import { Rng } from '../../../../src/engine/rng.js';
import { trainBpeTokenizer } from '../../../../src/engine/tokenizer/index.js';

const tokenizer = trainBpeTokenizer({ corpus: ['hello world, hello there', 'the world is wide'], vocabSize: 280 });
const config: GptConfig = { vocabSize: 280, maxSeqLen: 16, channels: 8, layers: 1, heads: 2 };
// These tests are about file integrity, not graph contents: stand-in graph bytes that
// depend on the weights, so a graph file is as checkable as a real one.
const fakeGraphs: InferenceGraphExporter = (_c, p) => ({ prefill: Uint8Array.from(p.data.subarray(0, 32), (x) => (x * 1000) & 255), decode: new Uint8Array([1, 2, 3, 4]) });

function randomParams(seed: number): ParameterSet {
  const p = new ParameterSet(config);
  const rng = new Rng(seed);
  for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * 0.02;
  return p;
}

describe('artifact', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'outerloop-artifact-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function fresh(name: string, seed = 1): Promise<string> {
    const dir = join(root, name);
    await writeArtifact(dir, { config, params: randomParams(seed), tokenizer, meta: { kind: 'policy', parentArtifactId: 'abc', trainingRunId: 'run-1', datasetSnapshotId: 'snap-1', createdAt: '2026-01-01T00:00:00.000Z' } }, fakeGraphs);
    return dir;
  }

  it('round-trips weights bit-exactly with lineage, hashes and id = sha256(params.bin)', async () => {
    const dir = await fresh('roundtrip');
    const original = randomParams(1);
    const loaded = await readArtifact(dir);
    assert.deepEqual(loaded.config, config);
    assert.deepEqual(Buffer.from(loaded.params.data.buffer), Buffer.from(original.data.buffer));
    assert.equal(loaded.manifest.artifactId, sha256Hex(await readFile(join(dir, PARAMS_FILE))));
    assert.equal(loaded.manifest.parentArtifactId, 'abc');
    assert.equal(loaded.manifest.datasetSnapshotId, 'snap-1');
    assert.equal(loaded.manifest.tokenizerHash, tokenizer.hash());
    assert.deepEqual(Object.keys(loaded.manifest.files).sort(), ['decode.onnx', 'params.bin', 'prefill.onnx', 'tokenizer.json']);
    assert.deepEqual(loaded.tokenizer.encode('hello world'), tokenizer.encode('hello world'));
    const other = await fresh('other', 2);
    assert.notEqual((await readArtifact(other)).manifest.artifactId, loaded.manifest.artifactId);
  });

  for (const file of [PARAMS_FILE, DECODE_FILE, TOKENIZER_FILE]) {
    it(`a modified ${file} is rejected with ArtifactError naming the file`, async () => {
      const dir = await fresh(`tamper-${file}`);
      const bytes = await readFile(join(dir, file));
      bytes[bytes.length - 1] ^= 0x01; // same size, one bit flipped
      await writeFile(join(dir, file), bytes);
      await assert.rejects(readArtifact(dir), (e: unknown) => e instanceof ArtifactError && e.message.includes(file) && /sha256/.test(e.message) && !e.retriable);
    });
  }

  it('a truncated params.bin is rejected by size', async () => {
    const dir = await fresh('truncated');
    await truncate(join(dir, PARAMS_FILE), 100);
    await assert.rejects(readArtifact(dir), (e: unknown) => e instanceof ArtifactError && e.message.includes(PARAMS_FILE) && /truncated/.test(e.message));
  });

  it('a missing file or manifest, or an edited manifest, is rejected', async () => {
    const dir = await fresh('missing');
    await rm(join(dir, DECODE_FILE));
    await assert.rejects(readArtifact(dir), (e: unknown) => e instanceof ArtifactError && e.message.includes(DECODE_FILE));
    const dir2 = await fresh('manifest-edit');
    const m = JSON.parse(await readFile(join(dir2, MANIFEST_FILE), 'utf8'));
    m.artifactId = '0'.repeat(64);
    await writeFile(join(dir2, MANIFEST_FILE), JSON.stringify(m));
    await assert.rejects(readArtifact(dir2), (e: unknown) => e instanceof ArtifactError && /artifactId/.test(e.message));
    await assert.rejects(readArtifact(join(root, 'nope')), (e: unknown) => e instanceof ArtifactError && e.message.includes(MANIFEST_FILE));
  });
});

describe('artifact without params.bin (weights only in the serving graphs)', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'outerloop-artifact-onnx-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('rebuilds the parameter blob bit-exactly from prefill.onnx (real exporter)', async () => {
    const dir = join(root, 'a');
    const params = randomParams(3);
    const manifest = await writeArtifact(dir, { config, params, tokenizer, meta: { kind: 'policy' }, paramsBlob: false });
    assert.equal(manifest.files[PARAMS_FILE], undefined);
    assert.ok(manifest.files['prefill.onnx'] && manifest.files['decode.onnx']);
    const loaded = await readArtifact(dir);
    assert.deepEqual(Buffer.from(loaded.params.data.buffer), Buffer.from(params.data.buffer));
    assert.equal(loaded.manifest.artifactId, sha256Hex(new Uint8Array(params.data.buffer)));
    // same weights, with or without the blob: same id
    const withBlob = await writeArtifact(join(root, 'b'), { config, params, tokenizer, meta: { kind: 'policy' } });
    assert.equal(withBlob.artifactId, manifest.artifactId);
  });

  it('a modified prefill.onnx is rejected', async () => {
    const dir = join(root, 'c');
    await writeArtifact(dir, { config, params: randomParams(4), tokenizer, meta: { kind: 'policy' }, paramsBlob: false });
    const bytes = await readFile(join(dir, 'prefill.onnx'));
    bytes[Math.floor(bytes.length / 2)] ^= 0x10;
    await writeFile(join(dir, 'prefill.onnx'), bytes);
    await assert.rejects(readArtifact(dir), (e: unknown) => e instanceof ArtifactError && e.message.includes('prefill.onnx'));
  });
});
