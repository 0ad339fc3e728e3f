// Reward-model artifacts: one directory per reward-model version, ensemble members
// included (Coste et al. 2023: K members are one model, scored together).
//
//   manifest.json   kind 'reward', architecture, member count, tokenizer hash, lineage
//                   (parent policy, dataset snapshot, training run), the training config
//                   and metrics, sha256 + size of every file
//   members.bin     the K parameter blobs back to back (float32 little-endian, each in
//                   gptParameterLayout order): what evaluation and fine-tuning read
//   score.onnx      the scoring graph with every member's weights as initializers
//                   (gpt/reward-graph.ts): what RewardScorer hands to onnxruntime
//   tokenizer.json  the policy's tokenizer (the RM reads text exactly as the policy writes it)
//
// The artifact id is the sha256 of members.bin: the same weights give the same id, so
// "same snapshot + seed + config → same artifact" is checked on the id. manifest.json is
// written last: a directory without one is an unfinished write.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.js';
import { gptParameterCount, type GptConfig, ParameterSet, validateGptConfig } from '../gpt/config.js';
import { exportRewardGraph } from '../gpt/reward-graph.js';
import { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';

export const REWARD_ARTIFACT_FORMAT = 'outerloop.reward-model/v1';
export const REWARD_MEMBERS_FILE = 'members.bin';
export const REWARD_GRAPH_FILE = 'score.onnx';
export const REWARD_TOKENIZER_FILE = 'tokenizer.json';
export const REWARD_MANIFEST_FILE = 'manifest.json';

export interface RewardArtifactMeta {
  /** artifact id of the policy whose trunk initialised every member */
  parentArtifactId: string | null;
  datasetSnapshotId: string | null;
  trainingRunId: string | null;
  /** the training configuration (seed, ensemble, epochs, learning rate, …) */
  training: Record<string, unknown>;
  /** figures of the run (steps, losses, held-out accuracy, truncation, …) */
  metrics: Record<string, unknown>;
  /** defaults to now; fix it for byte-identical manifests */
  createdAt?: string;
}

export interface RewardManifest extends Required<RewardArtifactMeta> {
  format: typeof REWARD_ARTIFACT_FORMAT;
  kind: 'reward';
  /** sha256 (hex) of members.bin */
  artifactId: string;
  members: number;
  config: GptConfig;
  tokenizerHash: string;
  files: Record<string, { sha256: string; bytes: number }>;
}

export interface LoadedRewardArtifact {
  manifest: RewardManifest;
  members: ParameterSet[];
  tokenizer: BpeTokenizer;
  /** score.onnx's bytes (verified) */
  graph: Uint8Array;
}

const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** The K blobs back to back: the bytes of members.bin, whose sha256 is the artifact id. */
export function rewardMembersBytes(members: readonly ParameterSet[]): Uint8Array {
  const floats = members.reduce((s, m) => s + m.data.length, 0);
  const out = new Float32Array(floats);
  let at = 0;
  for (const m of members) {
    out.set(m.data, at);
    at += m.data.length;
  }
  return new Uint8Array(out.buffer);
}

async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeRewardArtifact(dir: string, input: { members: readonly ParameterSet[]; tokenizer: BpeTokenizer; meta: RewardArtifactMeta }): Promise<RewardManifest> {
  const { members, tokenizer, meta } = input;
  if (members.length === 0) throw new ArtifactError('members: a reward model needs at least one member');
  const config = members[0]!.config;
  validateGptConfig(config);
  members.forEach((m, k) => {
    if (m.data.length !== gptParameterCount(config)) throw new ArtifactError(`members[${k}]: ${m.data.length} floats, config needs ${gptParameterCount(config)}`);
  });
  if (tokenizer.vocabSize > config.vocabSize) throw new ArtifactError(`tokenizer has ${tokenizer.vocabSize} ids but config.vocabSize is ${config.vocabSize}`);
  await mkdir(dir, { recursive: true });
  const files: Record<string, Uint8Array | string> = {
    [REWARD_MEMBERS_FILE]: rewardMembersBytes(members),
    [REWARD_GRAPH_FILE]: exportRewardGraph(members),
    [REWARD_TOKENIZER_FILE]: tokenizer.serialize(),
  };
  const entries: Record<string, { sha256: string; bytes: number }> = {};
  for (const [name, data] of Object.entries(files)) {
    await writeFileAtomic(join(dir, name), data);
    entries[name] = { sha256: sha256Hex(data), bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength };
  }
  const manifest: RewardManifest = {
    format: REWARD_ARTIFACT_FORMAT,
    kind: 'reward',
    artifactId: entries[REWARD_MEMBERS_FILE]!.sha256,
    members: members.length,
    config: { vocabSize: config.vocabSize, maxSeqLen: config.maxSeqLen, channels: config.channels, layers: config.layers, heads: config.heads },
    tokenizerHash: tokenizer.hash(),
    parentArtifactId: meta.parentArtifactId,
    datasetSnapshotId: meta.datasetSnapshotId,
    trainingRunId: meta.trainingRunId,
    training: meta.training,
    metrics: meta.metrics,
    createdAt: meta.createdAt ?? new Date().toISOString(),
    files: entries,
  };
  await writeFileAtomic(join(dir, REWARD_MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export async function readRewardManifest(dir: string): Promise<RewardManifest> {
  const path = join(dir, REWARD_MANIFEST_FILE);
  let m: RewardManifest;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as RewardManifest;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArtifactError(`${path}: cannot read the reward manifest (${code ?? (e as Error).message})`, code === 'ENOENT');
  }
  if (m.format !== REWARD_ARTIFACT_FORMAT || m.kind !== 'reward') throw new ArtifactError(`${path}: not a reward-model manifest (format ${JSON.stringify(m.format)}, kind ${JSON.stringify(m.kind)})`);
  if (!Number.isInteger(m.members) || m.members < 1) throw new ArtifactError(`${path}: members must be a positive integer, got ${m.members}`);
  try {
    validateGptConfig(m.config);
  } catch (e) {
    throw new ArtifactError(`${path}: config: ${(e as Error).message}`);
  }
  for (const f of [REWARD_MEMBERS_FILE, REWARD_GRAPH_FILE, REWARD_TOKENIZER_FILE]) if (!m.files?.[f]) throw new ArtifactError(`${path}: files must list ${f}`);
  if (m.files[REWARD_MEMBERS_FILE]!.sha256 !== m.artifactId) throw new ArtifactError(`${path}: artifactId does not equal the sha256 of ${REWARD_MEMBERS_FILE}`);
  return m;
}

async function readVerified(dir: string, manifest: RewardManifest, name: string): Promise<Buffer> {
  const path = join(dir, name);
  const entry = manifest.files[name]!;
  const data = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new ArtifactError(`${path}: cannot read (${e.code ?? e.message})`);
  });
  if (data.byteLength !== entry.bytes) throw new ArtifactError(`${path}: size ${data.byteLength} bytes, manifest says ${entry.bytes}`);
  if (sha256Hex(data) !== entry.sha256) throw new ArtifactError(`${path}: sha256 does not match the manifest: file was modified`);
  return data;
}

/** Read a reward artifact, verifying the size and sha256 of every file. */
export async function readRewardArtifact(dir: string): Promise<LoadedRewardArtifact> {
  const manifest = await readRewardManifest(dir);
  const blob = await readVerified(dir, manifest, REWARD_MEMBERS_FILE);
  const perMember = gptParameterCount(manifest.config);
  if (blob.byteLength !== perMember * 4 * manifest.members) throw new ArtifactError(`${join(dir, REWARD_MEMBERS_FILE)}: ${blob.byteLength} bytes, ${manifest.members} members need ${perMember * 4 * manifest.members}`);
  const all = new Float32Array(perMember * manifest.members);
  new Uint8Array(all.buffer).set(blob); // aligned copy
  const members = Array.from({ length: manifest.members }, (_, k) => new ParameterSet(manifest.config, all.slice(k * perMember, (k + 1) * perMember)));
  const tokenizer = await readRewardTokenizer(dir, manifest);
  return { manifest, members, tokenizer, graph: await readVerified(dir, manifest, REWARD_GRAPH_FILE) };
}

/** The reward model's tokenizer alone (verified against the manifest), without its weights. */
export async function readRewardTokenizer(dir: string, manifest: RewardManifest): Promise<BpeTokenizer> {
  const tokenizer = BpeTokenizer.fromJson((await readVerified(dir, manifest, REWARD_TOKENIZER_FILE)).toString('utf8'));
  if (tokenizer.hash() !== manifest.tokenizerHash) throw new ArtifactError(`${join(dir, REWARD_TOKENIZER_FILE)}: tokenizer hash does not match the manifest`);
  return tokenizer;
}
