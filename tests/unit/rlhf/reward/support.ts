// Shared by the reward-model tests and the rm bench: a tiny policy artifact (the shipped
// base policy's tokenizer, a small random GPT) and preference rows from the reference
// scenario's pure feedback model.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact, writeArtifact } from '../../../../src/engine/artifact/artifact.js';
import type { GptConfig } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import type { PreferenceRow } from '../../../../src/rlhf/reward/rm-data.js';
import { decidePairwise, goldPairwiseLabel, makePersona, parseBiasSpec, sampleComparisonPairs, seededRng } from '../../../../src/scenario/index.js';

export const BASE_POLICY_DIR = join(process.cwd(), 'models', 'base-policy');

/** A small random policy with the base policy's tokenizer: fast to train, real tokenization. */
export async function tinyPolicyArtifact(config: Partial<GptConfig> = {}, seed = 1): Promise<string> {
  const { tokenizer } = await readArtifact(BASE_POLICY_DIR);
  const full: GptConfig = { vocabSize: tokenizer.vocabSize, maxSeqLen: 96, channels: 32, layers: 1, heads: 2, ...config };
  const dir = await mkdtemp(join(tmpdir(), 'rm-policy-'));
  await writeArtifact(dir, { config: full, params: initGptParameters(full, seed), tokenizer, meta: { kind: 'policy', createdAt: '2026-01-01T00:00:00.000Z' } }, null);
  return dir;
}

export interface ScenarioPreferenceRows {
  train: PreferenceRow[];
  heldout: PreferenceRow[];
  /** gold's label of each held-out row (1: chosen is better by gold, −1: rejected is, 0: tie) */
  heldoutGold: (1 | 0 | -1)[];
}

/**
 * Comparison pairs of two corpus styles for one training prompt, labelled by a simulated
 * user with `bias` (a bias spec or preset name); ties are dropped. Held-out prompts: those
 * whose text hashes into the last tenth (split by prompt, as a snapshot does).
 */
export function scenarioPreferenceRows(opts: { seed: number; count: number; bias: string }): ScenarioPreferenceRows {
  const persona = makePersona('rm-test', parseBiasSpec(opts.bias));
  const rng = seededRng(opts.seed ^ 0x1234);
  const out: ScenarioPreferenceRows = { train: [], heldout: [], heldoutGold: [] };
  for (const pair of sampleComparisonPairs({ seed: opts.seed, count: opts.count })) {
    const label = decidePairwise(pair.spec, pair.first, pair.second, persona, rng).value;
    if (label === 0) continue;
    const [chosen, rejected] = label === 1 ? [pair.first, pair.second] : [pair.second, pair.first];
    const text = pair.spec.text;
    const row: PreferenceRow = { promptHash: text, prompt: [{ role: 'user', content: text }], chosen, rejected, margin: 1, source: 'pairwise' };
    if (hash(text) % 10 === 0) {
      out.heldout.push(row);
      out.heldoutGold.push(goldPairwiseLabel(pair.spec, chosen, rejected, persona.tieMargin));
    } else out.train.push(row);
  }
  return out;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The rows as preference pairs a snapshot is built from (the shape ingestion stores). */
export function asPreferencePairs(rows: readonly PreferenceRow[], at = new Date('2026-01-01T00:00:00Z')): import('../../../../src/domain/dataset/dataset.types.js').PreferencePairRow[] {
  return rows.map((r, i) => ({
    id: `pair-${String(i).padStart(6, '0')}`,
    promptHash: r.promptHash,
    promptMessages: r.prompt.map((m) => ({ role: m.role as 'user', content: m.content })),
    chosenCompletionId: null,
    rejectedCompletionId: null,
    chosenText: r.chosen,
    rejectedText: r.rejected,
    margin: r.margin,
    source: r.source,
    eventIds: [`event-${i}`],
    conflictCount: 0,
    conflictingEventIds: [],
    chosenModelVersion: null,
    rejectedModelVersion: null,
    createdAt: at,
  }));
}

/** Freeze rows into a snapshot and store it (files in the artifact store, the row in the database), as ingestion would. */
export async function storeSnapshot(
  repos: Pick<import('../../../../src/platform/persistence/repositories/index.js').Repositories, 'datasetSnapshots'>,
  store: import('../../../../src/platform/artifacts/artifact-store.js').ArtifactStore,
  rows: readonly PreferenceRow[],
  filters: import('../../../../src/domain/dataset/snapshot.js').SnapshotFilters = {},
): Promise<string> {
  const { buildSnapshot } = await import('../../../../src/domain/dataset/snapshot.js');
  const built = buildSnapshot({ pairs: asPreferencePairs(rows) }, filters);
  for (const [name, bytes] of Object.entries(built.files)) await store.put(`snapshots/${built.id}/${name}`, bytes);
  await repos.datasetSnapshots.insertIfAbsent({
    id: built.id, filters: { ...built.manifest.filters }, counts: { ...built.manifest.counts }, sourceEventRange: built.manifest.sourceEventRange,
    artifactPath: `snapshots/${built.id}`, sha256: built.manifestSha256, statistics: null, createdAt: new Date(),
  });
  return built.id;
}
