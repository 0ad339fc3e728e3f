// A reward-model training checkpoint: everything a killed run needs to continue and end
// bit-identical to a run that was never stopped — the parameters, AdamW's moments and
// step, the position in the data order (member, epoch, batch; the order itself is a pure
// function of the member's seed and the epoch, so the position is the RNG state), and the
// early-stopping state with the best parameters so far. One file per member
// (engine/artifact/checkpoint-file.ts writes it atomically).

import { join } from 'node:path';
import { readCheckpointFile, writeCheckpointFile } from '../../engine/artifact/checkpoint-file.js';

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
  await writeCheckpointFile(memberCheckpointPath(dir, ckpt.state.member), { ...ckpt.state }, { params: ckpt.params, m: ckpt.m, v: ckpt.v, best: ckpt.best });
}

/** The member's checkpoint, or null when there is none. */
export async function readMemberCheckpoint(dir: string, member: number, fingerprint: string, floats: number): Promise<MemberCheckpoint | null> {
  const path = memberCheckpointPath(dir, member);
  const file = await readCheckpointFile(path);
  if (!file) return null;
  const state = file.header as unknown as MemberCheckpointState;
  if (state.fingerprint !== fingerprint) throw new RewardCheckpointError(path, `belongs to another run (fingerprint ${state.fingerprint}, this run ${fingerprint}); use another checkpoint directory`);
  for (const name of BLOBS) {
    const blob = file.blobs[name];
    if (!blob || blob.length !== floats) throw new RewardCheckpointError(path, `${name} has ${blob?.length ?? 0} floats, the model has ${floats}`);
  }
  return { state, params: file.blobs.params!, m: file.blobs.m!, v: file.blobs.v!, best: file.blobs.best! };
}
