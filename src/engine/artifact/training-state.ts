// Training state beside a checkpoint's artifact: what an algorithm needs, besides the
// weights, to resume a run bit-exactly — the optimizer's moments and step, and a JSON
// record of its own counters (KL coefficient, running statistics, step). The weights stay
// in the artifact (params.bin); this file holds everything else.
//
//   state.json        { formatVersion, blobs: { name: { sha256, floats } }, state }
//   <name>.f32        raw float32 little-endian blobs (e.g. adam.m, adam.v)
//
// state.json is written last, so a directory without it is an unfinished checkpoint.

import { access, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.js';
import { sha256Hex } from './artifact.js';

export const TRAINING_STATE_FILE = 'state.json';
const FORMAT_VERSION = 1;

interface StateFile {
  formatVersion: number;
  blobs: Record<string, { sha256: string; floats: number }>;
  state: unknown;
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Writes `blobs` and then `state` (plain JSON) into `dir` (created when absent). */
export async function writeTrainingState(dir: string, state: unknown, blobs: Record<string, Float32Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries: StateFile['blobs'] = {};
  for (const [name, data] of Object.entries(blobs)) {
    if (!/^[\w.-]+$/.test(name)) throw new ArtifactError(`training state blob name '${name}': use letters, digits, '.', '-' or '_'`);
    const bytes = bytesOf(data);
    await writeAtomic(join(dir, `${name}.f32`), bytes);
    entries[name] = { sha256: sha256Hex(bytes), floats: data.length };
  }
  const file: StateFile = { formatVersion: FORMAT_VERSION, blobs: entries, state };
  await writeAtomic(join(dir, TRAINING_STATE_FILE), JSON.stringify(file));
}

/** Reads and verifies what writeTrainingState wrote. */
export async function readTrainingState<S>(dir: string): Promise<{ state: S; blobs: Record<string, Float32Array> }> {
  const path = join(dir, TRAINING_STATE_FILE);
  let file: StateFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as StateFile;
  } catch (e) {
    throw new ArtifactError(`${path}: cannot read training state (${(e as Error).message})`);
  }
  if (file.formatVersion !== FORMAT_VERSION) throw new ArtifactError(`${path}: formatVersion ${file.formatVersion}, expected ${FORMAT_VERSION}`);
  const blobs: Record<string, Float32Array> = {};
  for (const [name, entry] of Object.entries(file.blobs)) {
    const bytes = await readFile(join(dir, `${name}.f32`));
    if (bytes.byteLength !== entry.floats * 4 || sha256Hex(bytes) !== entry.sha256) throw new ArtifactError(`${join(dir, `${name}.f32`)}: does not match ${TRAINING_STATE_FILE}`);
    const data = new Float32Array(entry.floats);
    new Uint8Array(data.buffer).set(bytes);
    blobs[name] = data;
  }
  return { state: file.state as S, blobs };
}

/** The directory name of a checkpoint at `step` under a run's checkpoint root: step-000012. */
export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * The latest complete checkpoint under `root` (a `step-N` directory holding state.json),
 * or null when there is none (or no root yet). An unfinished write (no state.json) is skipped.
 */
export async function latestCheckpoint(root: string): Promise<{ dir: string; step: number } | null> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const steps = names.map((n) => /^step-(\d+)$/.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => b - a);
  for (const step of steps) {
    const dir = join(root, checkpointDirName(step));
    try {
      await access(join(dir, TRAINING_STATE_FILE));
      return { dir, step };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return null;
}
