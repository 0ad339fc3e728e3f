// Model artifacts: one directory per model version, self-describing and verifiable.
//
//   manifest.json   format version, architecture, tokenizer hash, lineage, sha256 + size of every file
//   params.bin      the raw parameter blob (ParameterSet.data, float32 little-endian, blob order
//                   of gptParameterLayout) — training resumes from THIS file, bit-exactly
//   prefill.onnx    serving graphs with the weights baked in as initializers
//   decode.onnx     (what BatchEngine.load hands to onnxruntime)
//   tokenizer.json  canonical tokenizer JSON (BpeTokenizer.serialize)
//
// Why a separate params.bin rather than reading weights back out of the .onnx
// initializers: the blob is what AdamW and the checkpoint compare against, it is one
// read with no protobuf parsing, and it keeps training independent of how the serving
// graphs lay out their weights. The cost is the weights stored a third time. Where
// size matters (the base policy committed to git, ≤ ~20 MB) an artifact may be written
// WITHOUT params.bin (`paramsBlob: false`): readArtifact then rebuilds the blob from
// prefill.onnx, whose initializers are the parameters by name, and proves it bit-exact
// by checking its sha256 against the artifact id.
//
// The artifact id is the sha256 of the parameter blob (params.bin's bytes): the same
// weights give the same id whatever the lineage metadata says, so the registry can
// de-duplicate.
//
// manifest.json is written last: a directory without one is an unfinished write.

import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.js';
import { gptParameterCount, validateGptConfig, type GptConfig, ParameterSet } from '../gpt/config.js';
import { exportInferenceGraphs } from '../gpt/inference-graphs.js';
import { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';

export const ARTIFACT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const PARAMS_FILE = 'params.bin';
export const PREFILL_FILE = 'prefill.onnx';
export const DECODE_FILE = 'decode.onnx';
export const TOKENIZER_FILE = 'tokenizer.json';

export type ArtifactKind = 'policy' | 'reward';

export interface ArtifactFileEntry {
  sha256: string;
  bytes: number;
}

export interface ArtifactManifest {
  formatVersion: number;
  /** sha256 (hex) of params.bin */
  artifactId: string;
  kind: ArtifactKind;
  config: GptConfig;
  tokenizerHash: string;
  parentArtifactId: string | null;
  trainingRunId: string | null;
  datasetSnapshotId: string | null;
  /** ISO-8601 */
  createdAt: string;
  files: Record<string, ArtifactFileEntry>;
  /** Free-form facts worth keeping with the weights (training steps, final loss, seed…). */
  notes: Record<string, unknown>;
}

export interface ArtifactMeta {
  kind: ArtifactKind;
  parentArtifactId?: string | null;
  trainingRunId?: string | null;
  datasetSnapshotId?: string | null;
  /** Defaults to now; pass a fixed value for reproducible manifests. */
  createdAt?: string;
  notes?: Record<string, unknown>;
}

export interface InferenceGraphs {
  prefill: Uint8Array;
  decode: Uint8Array;
}

/** Builds the serving graphs for given weights (engine core's exportInferenceGraphs). */
export type InferenceGraphExporter = (config: GptConfig, params: ParameterSet, opts: { sampledVocab: number }) => InferenceGraphs | Promise<InferenceGraphs>;

export interface LoadedArtifact {
  manifest: ArtifactManifest;
  config: GptConfig;
  /** A copy-free view of params.bin as a ParameterSet (params.data is the blob). */
  params: ParameterSet;
  tokenizer: BpeTokenizer;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function paramBytes(params: Float32Array): Uint8Array {
  // The blob is little-endian on disk; every platform ORT-node ships for is little-endian,
  // so the in-memory bytes are the file bytes.
  return new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
}

async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * Write an artifact directory. `exportGraphs` builds the serving graphs (default: the
 * engine's exportInferenceGraphs); pass `null` to write a training-only artifact (no
 * .onnx — BatchEngine cannot serve it).
 */
export async function writeArtifact(
  dir: string,
  input: { config: GptConfig; params: ParameterSet | Float32Array; tokenizer: BpeTokenizer; meta: ArtifactMeta; paramsBlob?: boolean },
  exportGraphs: InferenceGraphExporter | null = exportInferenceGraphs,
): Promise<ArtifactManifest> {
  const { config, tokenizer, meta } = input;
  validateGptConfig(config);
  const params = input.params instanceof ParameterSet ? input.params : new ParameterSet(config, input.params);
  if (params.data.length !== gptParameterCount(config)) {
    throw new ArtifactError(`params: ${params.data.length} floats, config needs ${gptParameterCount(config)}`);
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ArtifactError(`tokenizer has ${tokenizer.vocabSize} ids but config.vocabSize is ${config.vocabSize}`);
  }
  const storeBlob = input.paramsBlob ?? true;
  if (!storeBlob && !exportGraphs) throw new ArtifactError('paramsBlob: false needs the serving graphs to carry the weights');
  await mkdir(dir, { recursive: true });
  const files: Record<string, Uint8Array | string> = { [TOKENIZER_FILE]: tokenizer.serialize() };
  if (storeBlob) files[PARAMS_FILE] = paramBytes(params.data);
  if (exportGraphs) {
    const graphs = await exportGraphs(config, params, { sampledVocab: tokenizer.vocabSize });
    files[PREFILL_FILE] = graphs.prefill;
    files[DECODE_FILE] = graphs.decode;
  }
  const entries: Record<string, ArtifactFileEntry> = {};
  for (const [name, data] of Object.entries(files)) {
    await writeFileAtomic(join(dir, name), data);
    entries[name] = { sha256: sha256Hex(data), bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength };
  }
  const manifest = describeArtifact(config, params, tokenizer, meta, entries);
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function describeArtifact(config: GptConfig, params: ParameterSet, tokenizer: BpeTokenizer, meta: ArtifactMeta, files: Record<string, ArtifactFileEntry>): ArtifactManifest {
  return {
    formatVersion: ARTIFACT_FORMAT_VERSION,
    artifactId: sha256Hex(paramBytes(params.data)),
    kind: meta.kind,
    config: { vocabSize: config.vocabSize, maxSeqLen: config.maxSeqLen, channels: config.channels, layers: config.layers, heads: config.heads },
    tokenizerHash: tokenizer.hash(),
    parentArtifactId: meta.parentArtifactId ?? null,
    trainingRunId: meta.trainingRunId ?? null,
    datasetSnapshotId: meta.datasetSnapshotId ?? null,
    createdAt: meta.createdAt ?? new Date().toISOString(),
    files,
    notes: meta.notes ?? {},
  };
}

/**
 * The manifest the artifact of these weights would have — same artifactId (the sha256 of
 * the blob), config, tokenizer hash and lineage — but listing no files: nothing is on
 * disk. For engines built from weights in memory (BatchEngine.fromParameters).
 */
export function inMemoryManifest(params: ParameterSet, tokenizer: BpeTokenizer, meta: ArtifactMeta): ArtifactManifest {
  validateGptConfig(params.config);
  if (tokenizer.vocabSize > params.config.vocabSize) {
    throw new ArtifactError(`tokenizer has ${tokenizer.vocabSize} ids but config.vocabSize is ${params.config.vocabSize}`);
  }
  return describeArtifact(params.config, params, tokenizer, meta, {});
}

/** Read and validate manifest.json only (no hashing of the other files). */
export async function readArtifactManifest(dir: string): Promise<ArtifactManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a missing file on a shared volume may still be arriving; anything else is final
    throw new ArtifactError(`${path}: cannot read manifest (${code ?? (e as Error).message})`, code === 'ENOENT' || code === 'EAGAIN' || code === 'EBUSY');
  }
  let m: ArtifactManifest;
  try {
    m = JSON.parse(text) as ArtifactManifest;
  } catch (e) {
    throw new ArtifactError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.formatVersion !== ARTIFACT_FORMAT_VERSION) throw new ArtifactError(`${path}: formatVersion ${m.formatVersion} is not supported (expected ${ARTIFACT_FORMAT_VERSION})`);
  if (m.kind !== 'policy' && m.kind !== 'reward') throw new ArtifactError(`${path}: kind must be 'policy' or 'reward', got ${JSON.stringify(m.kind)}`);
  if (!m.files || typeof m.files !== 'object' || !m.files[TOKENIZER_FILE] || !(m.files[PARAMS_FILE] || m.files[PREFILL_FILE])) {
    throw new ArtifactError(`${path}: files must list ${TOKENIZER_FILE} and ${PARAMS_FILE} or ${PREFILL_FILE}`);
  }
  try {
    validateGptConfig(m.config);
  } catch (e) {
    throw new ArtifactError(`${path}: config: ${(e as Error).message}`);
  }
  if (m.files[PARAMS_FILE] && m.artifactId !== m.files[PARAMS_FILE].sha256) throw new ArtifactError(`${path}: artifactId does not equal the sha256 of ${PARAMS_FILE}`);
  return m;
}

/** Read one listed file and check its size and sha256 against the manifest. */
export async function readVerifiedFile(dir: string, manifest: ArtifactManifest, name: string): Promise<Buffer> {
  const entry = manifest.files[name];
  const path = join(dir, name);
  if (!entry) throw new ArtifactError(`${path}: not listed in the manifest of artifact ${manifest.artifactId}`);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw new ArtifactError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (data.byteLength !== entry.bytes) {
    throw new ArtifactError(`${path}: size ${data.byteLength} bytes, manifest says ${entry.bytes} (truncated or replaced file)`);
  }
  const actual = sha256Hex(data);
  if (actual !== entry.sha256) throw new ArtifactError(`${path}: sha256 ${actual} does not match the manifest (${entry.sha256}): file was modified`);
  return data;
}

/** Read an artifact, verifying the size and sha256 of every file in the manifest. */
export async function readArtifact(dir: string): Promise<LoadedArtifact> {
  const manifest = await readArtifactManifest(dir);
  for (const name of Object.keys(manifest.files)) {
    if (name !== PARAMS_FILE && name !== TOKENIZER_FILE) await readVerifiedFile(dir, manifest, name);
  }
  const expectedFloats = gptParameterCount(manifest.config);
  let data: Float32Array;
  if (manifest.files[PARAMS_FILE]) {
    const paramsBytes = await readVerifiedFile(dir, manifest, PARAMS_FILE);
    if (paramsBytes.byteLength !== expectedFloats * 4) {
      throw new ArtifactError(`${join(dir, PARAMS_FILE)}: ${paramsBytes.byteLength} bytes, config needs ${expectedFloats * 4}`);
    }
    // Copy into a fresh, aligned buffer: Buffer pool slices may not be 4-byte aligned.
    data = new Float32Array(expectedFloats);
    new Uint8Array(data.buffer).set(paramsBytes);
  } else {
    data = parametersFromOnnx(await readVerifiedFile(dir, manifest, PREFILL_FILE), manifest.config, join(dir, PREFILL_FILE));
    if (sha256Hex(paramBytes(data)) !== manifest.artifactId) {
      throw new ArtifactError(`${join(dir, PREFILL_FILE)}: weights rebuilt from the initializers do not hash to the artifact id`);
    }
  }
  const tokenizerText = (await readVerifiedFile(dir, manifest, TOKENIZER_FILE)).toString('utf8');
  let tokenizer: BpeTokenizer;
  try {
    tokenizer = BpeTokenizer.fromJson(tokenizerText);
  } catch (e) {
    throw new ArtifactError(`${join(dir, TOKENIZER_FILE)}: ${(e as Error).message}`);
  }
  if (tokenizer.hash() !== manifest.tokenizerHash) throw new ArtifactError(`${join(dir, TOKENIZER_FILE)}: tokenizer hash does not match manifest.tokenizerHash`);
  return { manifest, config: manifest.config, params: new ParameterSet(manifest.config, data), tokenizer };
}

/**
 * The parameter blob from a serving graph's initializers (named as in gptParameterLayout,
 * float32 raw data — what exportInferenceGraphs writes).
 */
export function parametersFromOnnx(bytes: Uint8Array, config: GptConfig, source = 'model'): Float32Array {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ArtifactError(`${source}: not a valid ONNX model (${(e as Error).message})`);
  }
  const byName = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const params = new ParameterSet(config);
  for (const spec of params.layout) {
    const t = byName.get(spec.name);
    if (!t) throw new ArtifactError(`${source}: initializer '${spec.name}' is missing`);
    if (t.dataType !== onnxProto.onnx.TensorProto.DataType.FLOAT) throw new ArtifactError(`${source}: initializer '${spec.name}' is not float32`);
    const view = params.view(spec.name);
    if (t.rawData && t.rawData.length > 0) {
      if (t.rawData.length !== spec.size * 4) throw new ArtifactError(`${source}: initializer '${spec.name}' has ${t.rawData.length} bytes, expected ${spec.size * 4}`);
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(t.rawData);
    } else {
      if (!t.floatData || t.floatData.length !== spec.size) throw new ArtifactError(`${source}: initializer '${spec.name}' has ${t.floatData?.length ?? 0} values, expected ${spec.size}`);
      view.set(t.floatData);
    }
  }
  return params.data;
}

/** True when `dir` holds a manifest (cheap existence probe for stores and CLIs). */
export async function isArtifactDir(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, MANIFEST_FILE))).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
