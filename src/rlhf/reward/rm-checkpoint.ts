// A reward-model training checkpoint: everything a killed run needs to continue and end
// bit-identical to a run that was never stopped — the parameters, AdamW's moments and
// step, the position in the data order (member, epoch, batch; the order itself is a pure
// function of the member's seed and the epoch, so the position is the RNG state), and the
// early-stopping state with the best parameters so far.
//
// File: 4-byte little-endian header length, the JSON header, then the float32 blobs named
// in the header, back to back. Written to a temp file and renamed: a crash leaves the
// previous checkpoint or the new one, never a torn file.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MemberCheckpointState {
  /** what the run was started with (snapshot, policy, config): a checkpoint of another run is refused */
  fingerprint: string;
  member: number;
  /** optimizer steps done by this member */
  step: number;
  epoch: number;
  /** batches of `epoch` already trained */
  batchInEpoch: number;
  adamStep: number;
  bestHeldOutLoss: number | null;
  bestStep: number;
  evalsWithoutImprovement: number;
  heldOutLosses: { step: number; loss: number }[];
  /** true once the member is trained (early-stopped or out of epochs); `best` holds its final weights */
  finished: boolean;
  finalLoss: number | null;
}

export interface MemberCheckpoint {
  state: MemberCheckpointState;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** the parameters at the best held-out loss (= params when there is no held-out data) */
  best: Float32Array;
}

export class RewardCheckpointError extends Error {
  readonly code = 'reward_checkpoint_invalid';
  readonly retriable = false;
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'RewardCheckpointError';
  }
}

const BLOBS = ['params', 'm', 'v', 'best'] as const;

export const memberCheckpointPath = (dir: string, member: number): string => join(dir, `member-${member}.ckpt`);

export async function writeMemberCheckpoint(dir: string, ckpt: MemberCheckpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  const header = Buffer.from(JSON.stringify({ ...ckpt.state, blobs: BLOBS.map((b) => [b, ckpt[b].length]) }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const parts = [len, header, ...BLOBS.map((b) => Buffer.from(ckpt[b].buffer, ckpt[b].byteOffset, ckpt[b].byteLength))];
  const path = memberCheckpointPath(dir, ckpt.state.member);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, path);
}

/** The member's checkpoint, or null when there is none. */
export async function readMemberCheckpoint(dir: string, member: number, fingerprint: string, floats: number): Promise<MemberCheckpoint | null> {
  const path = memberCheckpointPath(dir, member);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (bytes.length < 4) throw new RewardCheckpointError(path, 'truncated header');
  const headerLength = bytes.readUInt32LE(0);
  let header: MemberCheckpointState & { blobs: [string, number][] };
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as typeof header;
  } catch (e) {
    throw new RewardCheckpointError(path, `header is not JSON (${(e as Error).message})`);
  }
  if (header.fingerprint !== fingerprint) throw new RewardCheckpointError(path, `belongs to another run (fingerprint ${header.fingerprint}, this run ${fingerprint}); use another checkpoint directory`);
  let at = 4 + headerLength;
  const blobs: Record<string, Float32Array> = {};
  for (const [name, length] of header.blobs) {
    if (length !== floats) throw new RewardCheckpointError(path, `${name} has ${length} floats, the model has ${floats}`);
    if (at + length * 4 > bytes.length) throw new RewardCheckpointError(path, `truncated in ${name}`);
    const out = new Float32Array(length);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + length * 4));
    blobs[name] = out;
    at += length * 4;
  }
  const { blobs: _listed, ...state } = header;
  return { state, params: blobs.params!, m: blobs.m!, v: blobs.v!, best: blobs.best! };
}
