// The orchestrator's snapshot step is the ingest role's dataset snapshot: services do
// not import each other, so the composition root's shared folder adapts one to the
// other (a Snapshotter over createSnapshot, with the platform's repositories). The same
// step freezes the RL prompt set from the completion log with the same `to`
// (rl-prompt-set.ts), excluding the evaluator's suites (the scenario's, as the
// evaluator role is configured), so PPO trains on what users asked up to that instant.
// The data-readiness trigger's count (pairs the next snapshot would add) comes from the
// same dataset service.
import type { Provider } from '@nestjs/common';
import type { OuterloopConfig } from '../config/config.js';
import type { ArtifactStore } from '../platform/artifacts/artifact-store.js';
import type { Repositories } from '../platform/persistence/repositories/index.js';
import {
  ARTIFACT_STORE,
  COMPLETION_REPOSITORY,
  CONFIG,
  DATASET_SNAPSHOT_REPOSITORY,
  FEEDBACK_REPOSITORY,
  PREFERENCE_PAIR_REPOSITORY,
  TRANSACTION_RUNNER,
  USER_FLAG_REPOSITORY,
} from '../platform/tokens.js';
import { scenarioSuites } from '../scenario/eval-suites.js';
import { createSnapshot, DatasetService } from './ingest/dataset/dataset.service.js';
import { freezeRlPromptSet } from './rl-prompt-set.js';

export const LOOP_SNAPSHOTTER = Symbol('LOOP_SNAPSHOTTER'); // (filters: { to, heldoutFraction? }) => Promise<{ id, pairs, promptSetId, prompts }>

type R = Repositories;

export const loopSnapshotterProvider: Provider = {
  provide: LOOP_SNAPSHOTTER,
  useFactory: (config: OuterloopConfig, artifacts: ArtifactStore, completions: R['completions'], feedback: R['feedback'], preferencePairs: R['preferencePairs'], userFlags: R['userFlags'], datasetSnapshots: R['datasetSnapshots'], transactions: R['transactions']) =>
    async (filters: { to: string; heldoutFraction?: number }) => {
      const snap = await createSnapshot({ completions, feedback, preferencePairs, userFlags, datasetSnapshots, transactions }, artifacts, filters);
      const prompts = await freezeRlPromptSet({ completions, artifacts }, { to: filters.to, evalSuites: scenarioSuites(), minPrompts: config.orchestrator.minRlPrompts });
      return { id: snap.id, pairs: Number(snap.manifest.counts.train ?? 0) + Number(snap.manifest.counts.heldout ?? 0), promptSetId: prompts.id, prompts: prompts.prompts.length };
    },
  inject: [CONFIG, ARTIFACT_STORE, COMPLETION_REPOSITORY, FEEDBACK_REPOSITORY, PREFERENCE_PAIR_REPOSITORY, USER_FLAG_REPOSITORY, DATASET_SNAPSHOT_REPOSITORY, TRANSACTION_RUNNER],
};

export const LOOP_NEW_PAIRS = Symbol('LOOP_NEW_PAIRS'); // () => Promise<number>: pairs new since the newest snapshot

export const loopNewPairsProvider: Provider = {
  provide: LOOP_NEW_PAIRS,
  useFactory: (artifacts: ArtifactStore, completions: R['completions'], feedback: R['feedback'], preferencePairs: R['preferencePairs'], userFlags: R['userFlags'], datasetSnapshots: R['datasetSnapshots'], transactions: R['transactions']) => {
    const dataset = new DatasetService({ completions, feedback, preferencePairs, userFlags, datasetSnapshots, transactions }, artifacts);
    return () => dataset.newPairsSinceNewestSnapshot();
  },
  inject: [ARTIFACT_STORE, COMPLETION_REPOSITORY, FEEDBACK_REPOSITORY, PREFERENCE_PAIR_REPOSITORY, USER_FLAG_REPOSITORY, DATASET_SNAPSHOT_REPOSITORY, TRANSACTION_RUNNER],
};
