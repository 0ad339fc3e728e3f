// Lineage (issue #12 item 5), read from the iterations' step records and the registry:
// - a model version: the feedback window → dataset snapshot → reward model → PPO run →
//   checkpoint chosen → gate decision → canary outcome → promotion, and its ancestors;
// - a feedback event: the preference pairs derived from it, and every iteration whose
//   snapshot window contains it (the snapshot step freezes the pairs as of the
//   iteration's start), with the reward model and policy those iterations trained.
import type { ModelVersionRecord } from '../../domain/models.js';
import type { LoopIterationRecord } from '../../domain/loop.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';

export type LineageRepositories = Pick<Repositories, 'loopIterations' | 'modelRegistry' | 'datasetSnapshots' | 'feedback' | 'preferencePairs'>;

export interface ModelLineageView {
  model: ModelVersionRecord;
  ancestors: string[];
  iteration: string | null;
  chain: {
    feedbackWindow: { to: string } | null;
    snapshot: { id: string; counts: unknown } | null;
    rewardModel: { id: string; metrics: unknown; rmGate: unknown } | null;
    /** the judge RM trained on the same snapshot's held-out split (the evaluator's win rates) */
    judgeRewardModel: { id: string; metrics: unknown } | null;
    ppoRun: { runId: unknown; checkpoints: unknown } | null;
    checkpointChosen: unknown;
    gate: { verdict: unknown; gateDecisionId: unknown; review: unknown } | null;
    canary: unknown;
    outcome: string | null;
  };
}

export class LineageNotFoundError extends Error {
  readonly code = 'not_found';
  readonly retriable = false;
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'LineageNotFoundError';
  }
}

/** Iterations scanned for lineage: the newest this many. */
const ITERATIONS_SCANNED = 1000;

export class LoopLineage {
  constructor(private readonly repos: LineageRepositories) {}

  async ofModel(modelId: string): Promise<ModelLineageView> {
    const model = await this.repos.modelRegistry.get(modelId);
    if (!model) throw new LineageNotFoundError(`model version ${modelId}`);
    const ancestors = (await this.repos.modelRegistry.lineage(modelId)).slice(1).map((m) => m.id);
    const iterations = await this.repos.loopIterations.list(ITERATIONS_SCANNED);
    const it = iterations.find((i) => i.candidateModelId === modelId || i.steps.rl?.outputs.modelVersion === modelId || i.rewardModelId === modelId || i.steps.train_rm?.outputs.judgeModelVersion === modelId) ?? null;
    const s = it?.steps ?? {};
    const snapshot = it?.snapshotId ? await this.repos.datasetSnapshots.findById(it.snapshotId) : null;
    return {
      model,
      ancestors,
      iteration: it?.id ?? null,
      chain: {
        feedbackWindow: s.snapshot ? { to: String(s.snapshot.inputs.to) } : null,
        snapshot: snapshot ? { id: snapshot.id, counts: snapshot.counts } : null,
        rewardModel: s.train_rm ? { id: String(s.train_rm.outputs.rewardModelVersion), metrics: s.train_rm.outputs.metrics, rmGate: s.rm_gate?.outputs ?? null } : null,
        judgeRewardModel: typeof s.train_rm?.outputs.judgeModelVersion === 'string' ? { id: s.train_rm.outputs.judgeModelVersion, metrics: s.train_rm.outputs.judgeMetrics ?? null } : null,
        ppoRun: s.rl ? { runId: s.rl.outputs.runId, checkpoints: s.rl.outputs.checkpoints } : null,
        checkpointChosen: s.evaluate?.outputs.candidate ?? null,
        gate: s.gate ? { verdict: s.gate.outputs.verdict, gateDecisionId: s.evaluate?.outputs.gateDecisionId ?? null, review: s.gate.outputs.review ?? null } : null,
        canary: s.canary ? { ...s.canary.inputs, ...s.canary.outputs } : null,
        outcome: it ? it.state : null,
      },
    };
  }

  async ofFeedback(eventId: string): Promise<{ eventId: string; pairs: string[]; iterations: Array<{ id: string; state: string; rewardModel: string | null; policy: string | null }> }> {
    const event = (await this.repos.feedback.findAllForDerivation()).find((e) => e.id === eventId);
    if (!event) throw new LineageNotFoundError(`feedback event ${eventId}`);
    const pairs = (await this.repos.preferencePairs.findAll()).filter((p) => p.eventIds.includes(eventId)).map((p) => p.id);
    const trained = (await this.repos.loopIterations.list(ITERATIONS_SCANNED)).filter((i) => pairs.length > 0 && windowContains(i, event.createdAt));
    return {
      eventId,
      pairs,
      iterations: trained.map((i) => ({ id: i.id, state: i.state, rewardModel: i.rewardModelId, policy: i.candidateModelId })),
    };
  }
}

function windowContains(it: LoopIterationRecord, at: Date): boolean {
  const to = it.steps.snapshot?.inputs.to;
  return typeof to === 'string' && at.getTime() < new Date(to).getTime();
}
