// Training checkpoint files: a JSON header and named float32 blobs in one file, written
// to a temp file and renamed (a crash leaves the previous checkpoint or the new one,
// never a torn file). The algorithm (src/rlhf) decides what the header and blobs mean;
// this module only writes and reads them — file access stays in the artifact layer.
//
// Layout: 4-byte little-endian header length, the header JSON ({ ...header, blobs:
// [[name, floats], …] }), then the blobs back to back.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArtifactError } from '../errors.js';

export async function writeCheckpointFile(path: string, header: Record<string, unknown>, blobs: Record<string, Float32Array>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const names = Object.keys(blobs);
  const head = Buffer.from(JSON.stringify({ ...header, blobs: names.map((n) => [n, blobs[n]!.length]) }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  const parts = [len, head, ...names.map((n) => Buffer.from(blobs[n]!.buffer, blobs[n]!.byteOffset, blobs[n]!.byteLength))];
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, path);
}

/** The header and blobs of a checkpoint file, or null when there is none. */
export async function readCheckpointFile(path: string): Promise<{ header: Record<string, unknown>; blobs: Record<string, Float32Array> } | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (bytes.length < 4) throw new ArtifactError(`${path}: truncated checkpoint header`);
  const headerLength = bytes.readUInt32LE(0);
  let header: Record<string, unknown> & { blobs?: [string, number][] };
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as typeof header;
  } catch (e) {
    throw new ArtifactError(`${path}: checkpoint header is not JSON (${(e as Error).message})`);
  }
  let at = 4 + headerLength;
  const blobs: Record<string, Float32Array> = {};
  for (const [name, length] of header.blobs ?? []) {
    if (at + length * 4 > bytes.length) throw new ArtifactError(`${path}: checkpoint truncated in ${name}`);
    const out = new Float32Array(length);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + length * 4)); // aligned copy
    blobs[name] = out;
    at += length * 4;
  }
  const { blobs: _listed, ...rest } = header;
  return { header: rest, blobs };
}

/** Remove a directory of checkpoints or a staging directory once it is no longer needed. */
export async function removeArtifactDirectory(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
