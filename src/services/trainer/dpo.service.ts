// The trainer role's DPO use case: a dataset snapshot in, a registered candidate policy out
// (Rafailov et al. 2023; src/rlhf/dpo). Nest-free: the `dpo` job handler calls `train()`.
//
//   1. the snapshot must exist (SnapshotNotFoundError); its training pairs are read from the
//      artifact store and verified against its id. DPO renders one user turn, so only the
//      pairs whose prompt is a single user message are used (the count skipped is reported);
//      none left → NoSingleTurnPairsError (not retriable)
//   2. DPO runs on a TrainThread (startDpo) from the named or production policy, which is
//      also the frozen reference; steps = ⌈epochs × pairs / batchSize⌉
//   3. the artifact is written under the checkpoint prefix and registered as a policy
//      version (status candidate; lineage: parent policy, snapshot, training run) with one
//      checkpoint row. DPO writes no intermediate checkpoints: a new attempt starts over.
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { parseSnapshotManifest, parseSnapshotRows, snapshotArtifactPath } from '../../domain/dataset/snapshot.js';
import type { ModelVersionRecord } from '../../domain/models.js';
import type { TrainProgress } from '../../engine/train/trainer.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { Logger } from '../../platform/logging/logger.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import { startDpo, type DpoProgramResult } from '../../rlhf/dpo/dpo.program.js';
import type { PreferencePairText } from '../../rlhf/dpo/dpo-train.js';
import { resolvePolicy, SnapshotNotFoundError } from './reward-model.service.js';
import { finishingOnError } from './training-run.js';

export type DpoRepositories = Pick<Repositories, 'modelRegistry' | 'datasetSnapshots' | 'training'>;

export class NoSingleTurnPairsError extends Error {
  readonly code = 'no_single_turn_pairs';
  readonly retriable = false;
  constructor(readonly snapshotId: string, readonly skipped: number) {
    super(`dataset snapshot ${snapshotId} has no training pair whose prompt is a single user message (${skipped} multi-turn pairs skipped); DPO renders one user turn`);
    this.name = 'NoSingleTurnPairsError';
  }
}

export interface DpoRequest {
  snapshotId: string;
  policyVersionId?: string;
  beta: number;
  epochs: number;
  seed: number;
  learningRate?: number;
  /** pairs per optimizer step; default 8 */
  batchSize?: number;
  /** where the artifact is written in the artifact store (a job's `checkpoint.prefix`); default `checkpoints/dpo` */
  checkpointPrefix?: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface DpoOutcome {
  version: ModelVersionRecord;
  trainingRunId: string;
  pairs: number;
  skippedMultiTurn: number;
  steps: number;
  result: DpoProgramResult;
}

export class DpoService {
  private readonly log = new Logger('trainer.dpo');

  constructor(
    private readonly repositories: DpoRepositories,
    private readonly artifacts: ArtifactStore,
    private readonly options: { intraOpThreads?: number } = {},
  ) {}

  async train(request: DpoRequest): Promise<DpoOutcome> {
    const { snapshotId } = request;
    if (!/^[0-9a-f]{64}$/.test(snapshotId) || !(await this.repositories.datasetSnapshots.findById(snapshotId))) throw new SnapshotNotFoundError(snapshotId);
    const base = snapshotArtifactPath(snapshotId);
    const manifest = parseSnapshotManifest(snapshotId, await this.artifacts.get(`${base}/manifest.json`));
    const rows = parseSnapshotRows(manifest, 'train.jsonl', await this.artifacts.get(`${base}/train.jsonl`));
    const pairs: PreferencePairText[] = [];
    for (const r of rows) {
      if (r.prompt.length === 1 && r.prompt[0]!.role === 'user') pairs.push({ prompt: r.prompt[0]!.content, chosen: r.chosen, rejected: r.rejected });
    }
    const skippedMultiTurn = rows.length - pairs.length;
    if (pairs.length === 0) throw new NoSingleTurnPairsError(snapshotId, skippedMultiTurn);

    const policy = await resolvePolicy(this.repositories.modelRegistry, request.policyVersionId);
    const batchSize = request.batchSize ?? 8;
    const options = {
      beta: request.beta, steps: Math.ceil((request.epochs * pairs.length) / batchSize), batchSize, seed: request.seed,
      ...(request.learningRate !== undefined ? { lr: request.learningRate } : {}),
      ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}),
    };
    const trainingRunId = 'dpo-' + createHash('sha256').update(JSON.stringify([snapshotId, policy.id, policy.sha256, options])).digest('hex').slice(0, 24);
    const outPath = `${(request.checkpointPrefix ?? 'checkpoints/dpo').replace(/\/+$/, '')}/${trainingRunId}`;
    await this.repositories.training.startRun({ id: trainingRunId, kind: 'dpo', config: { ...options }, baseModelId: policy.id, datasetSnapshotId: snapshotId, seed: request.seed });
    this.log.info('training with DPO', { trainingRunId, snapshotId, policy: policy.id, pairs: pairs.length, skippedMultiTurn, steps: options.steps });

    const result = await finishingOnError(this.repositories.training, trainingRunId, () => {
      const run = startDpo(
        { policyDir: isAbsolute(policy.artifactPath) ? policy.artifactPath : this.artifacts.resolve(policy.artifactPath), pairs, snapshotId, outDir: this.artifacts.resolve(outPath), options },
        { ...(request.onProgress ? { onProgress: request.onProgress } : {}), ...(request.signal ? { signal: request.signal } : {}) },
      );
      return run.done;
    });
    await this.repositories.training.recordCheckpoint({ id: `${trainingRunId}:final`, runId: trainingRunId, step: options.steps, metrics: { loss: result.finalLoss, accuracy: result.finalAccuracy }, artifactPath: outPath });
    const version = await this.repositories.modelRegistry.register(
      {
        id: `policy-${result.manifest.artifactId.slice(0, 16)}`, kind: 'policy', parentId: policy.id, artifactPath: outPath, sha256: result.manifest.artifactId,
        trainingRunId, datasetSnapshotId: snapshotId,
        metrics: { trainer: 'dpo', beta: request.beta, steps: options.steps, pairs: pairs.length, finalLoss: result.finalLoss, finalAccuracy: result.finalAccuracy },
      },
      { ifAbsent: true },
    );
    await this.repositories.training.finishRun(trainingRunId, 'succeeded');
    this.log.info('DPO policy registered', { version: version.id, finalLoss: result.finalLoss, finalAccuracy: result.finalAccuracy });
    return { version, trainingRunId, pairs: pairs.length, skippedMultiTurn, steps: options.steps, result };
  }
}
