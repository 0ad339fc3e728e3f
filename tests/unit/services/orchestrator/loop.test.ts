// The loop's state machine end to end on SQLite + the embedded bus, with test
// handlers for the trainer and evaluator kinds (loop-world.ts): a promoted canary, a
// rolled-back one, both gates blocking, a failed job, needs_review and the admin
// actions, the lease.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HttpException } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { canaryVerdict, DEFAULT_CANARY_POLICY } from '../../../../src/evaluation/canary/canary-verdict.js';
import { canaryObserver } from '../../../../src/services/orchestrator/canary-observer.js';
import { IllegalLoopActionError, LOOP_STEPS } from '../../../../src/domain/loop.js';
import { DeploymentEntity } from '../../../../src/platform/persistence/entities/deployment.entity.js';
import { LoopLineage } from '../../../../src/services/orchestrator/lineage.js';
import { LoopController } from '../../../../src/services/orchestrator/loop.controller.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { DatasetService } from '../../../../src/services/ingest/dataset/dataset.service.js';
import { BASE_POLICY, openWorld, runToRest, seedWorld, type WorldConfig, type World } from './loop-world.js';

const root = mkdtempSync(join(tmpdir(), 'outerloop-loop-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function world(overrides: Partial<WorldConfig> = {}): Promise<World> {
  const dir = join(root, `w${n++}`);
  await seedWorld(dir);
  return openWorld({ dir, rmAccuracy: 0.7, verdict: 'pass', canaryUp: 0.8, productionUp: 0.4, seed: 1, ...overrides });
}

describe('the loop iteration', () => {
  it('runs snapshot → … → canary → promoted: one job per step, the candidate is production, the old one retired, a deployment row and a model event each way', async () => {
    const w = await world();
    try {
      const started = await w.orchestrator.trigger('manual');
      const done = await runToRest(w);
      assert.equal(done.id, started.id);
      assert.equal(done.state, 'promoted', done.error ?? '');
      assert.deepEqual(done.stateHistory.map((h) => h.state), [...LOOP_STEPS, 'promoted']);
      // every state recorded its inputs and outputs
      assert.equal(done.steps.train_rm?.outputs.rewardModelVersion, `rm-${done.id}`);
      // the judge RM from the same snapshot's held-out split, passed to the evaluation with the PPO run
      assert.equal(done.steps.train_rm?.outputs.judgeModelVersion, `judge-${done.id}`);
      assert.deepEqual([done.steps.train_rm?.inputs.split, (done.steps.train_rm?.inputs.judge as { split?: string }).split], ["train", "heldout"]);
      assert.deepEqual([done.steps.evaluate?.inputs.runId, done.steps.evaluate?.inputs.judgeModelVersion], [`run-${done.id}`, `judge-${done.id}`]);
      assert.equal(done.steps.rl?.outputs.runId, `run-${done.id}`);
      assert.equal(done.steps.evaluate?.outputs.candidate, `policy-${done.id}`);
      assert.equal(done.steps.gate?.outputs.verdict, 'pass');
      assert.equal(done.steps.canary?.outputs.decision, 'promote');
      assert.equal(done.snapshotId, done.steps.snapshot?.outputs.snapshotId);
      // the snapshot step froze the RL prompt set from the completion log (up to the same
      // `to`): the two distinct seeded prompts, the eval prompt left out; PPO trained on it
      const promptSetId = done.steps.snapshot?.outputs.promptSetId;
      assert.match(String(promptSetId), /^[0-9a-f]{64}$/);
      assert.equal(done.steps.snapshot?.outputs.prompts, 2);
      assert.equal(done.steps.rl?.inputs.promptSetId, promptSetId);
      const ppoJob = (await w.queue.list({})).find((j) => j.kind === 'ppo');
      assert.equal(ppoJob?.params.promptSetId, promptSetId);
      // one job per step, keyed <iteration>:<step>
      const jobs = await w.queue.list({});
      assert.deepEqual(jobs.map((j) => j.idempotencyKey).sort(), [`${done.id}:evaluate`, `${done.id}:rl`, `${done.id}:train_rm`, `${done.id}:train_rm:judge`]);
      assert.equal((await w.repos.modelRegistry.get(`policy-${done.id}`))?.status, 'production');
      assert.equal((await w.repos.modelRegistry.get(BASE_POLICY))?.status, 'retired');
      const current = await w.repos.deployments.current();
      assert.equal(current?.productionModelId, `policy-${done.id}`);
      assert.equal(current?.canaryModelId, null);
      assert.equal((await w.repos.deployments.get(`${done.id}:canary`))?.canaryWeight, 0.1);
    } finally {
      await w.close();
    }
  });

  it('rolls back a canary users dislike within the sample budget: production untouched, the candidate rejected', async () => {
    const w = await world({ canaryUp: 0.2, productionUp: 0.7 });
    try {
      await w.orchestrator.trigger('manual');
      const done = await runToRest(w);
      assert.equal(done.state, 'rolled_back', done.error ?? '');
      assert.equal(done.steps.canary?.outputs.decision, 'rollback');
      assert.ok((done.steps.canary?.outputs.samples as number) <= 600, 'decided within the budget');
      assert.match(String(done.steps.canary?.outputs.reason), /thumbs-up rate worse/);
      assert.equal((await w.repos.deployments.current())?.productionModelId, BASE_POLICY);
      assert.equal((await w.repos.modelRegistry.get(BASE_POLICY))?.status, 'production');
      assert.equal((await w.repos.modelRegistry.get(done.candidateModelId!))?.status, 'rejected');
    } finally {
      await w.close();
    }
  });

  it('metrics: transitions, time in state, the outcome, the current state from the database, and the stuck limit only while running', async () => {
    const w = await world({ canaryUp: 0.2, productionUp: 0.7 });
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const m = (await w.registry.getSingleMetric(name)?.get()) as unknown as { values: Array<{ value: number; labels: Record<string, string>; metricName?: string }> } | undefined;
      return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    };
    try {
      await w.orchestrator.trigger('manual');
      const done = await runToRest(w);
      assert.equal(done.state, 'rolled_back');
      assert.equal(await value('outerloop_loop_iterations_started_total', { trigger: 'manual' }), 1);
      assert.equal(await value('outerloop_loop_iterations_finished_total', { outcome: 'rolled_back' }), 1);
      assert.equal(await value('outerloop_loop_iterations_finished_total', { outcome: 'promoted' }), 0, 'every outcome series exists from the start');
      assert.equal(await value('outerloop_loop_transitions_total', { from: 'canary', to: 'rolled_back' }), 1);
      assert.equal(await value('outerloop_loop_iteration_state', { state: 'rolled_back' }), 1);
      assert.equal(await value('outerloop_loop_iteration_state', { state: 'canary' }), 0);
      const histogram = (await w.registry.getSingleMetric('outerloop_loop_state_duration_seconds')!.get()) as unknown as { values: Array<{ value: number; labels: Record<string, string>; metricName: string }> };
      const counts = histogram.values.filter((v) => v.metricName.endsWith('_count') && v.value > 0).map((v) => v.labels.state).sort();
      assert.deepEqual(counts, [...LOOP_STEPS].sort(), 'one observation per state left');
      assert.equal(await value('outerloop_loop_stuck_after_seconds'), undefined, 'a finished iteration cannot be stuck');
      assert.equal(await value('outerloop_canary_traffic_share'), 0);
      assert.equal(await value('outerloop_canary_likelihood_ratio', { test: 'thumbs' }), undefined, 'the canary gauges are cleared when it ends');
      assert.equal(await value('outerloop_canary_likelihood_ratio_boundary'), 20);
    } finally {
      await w.close();
    }
    const waiting = await world({ verdict: 'needs_review' });
    try {
      await waiting.orchestrator.trigger('manual');
      const it = await runToRest(waiting);
      assert.equal(it.state, 'gate');
      const stuck = (await waiting.registry.getSingleMetric('outerloop_loop_stuck_after_seconds')!.get()) as unknown as { values: Array<{ value: number; labels: Record<string, string> }> };
      assert.deepEqual(stuck.values.map((v) => [v.labels.state, v.value]), [['gate', 600]]);
      const entered = (await waiting.registry.getSingleMetric('outerloop_loop_state_entered_timestamp_seconds')!.get()) as unknown as { values: Array<{ value: number; labels: Record<string, string> }> };
      assert.deepEqual(entered.values.map((v) => [v.labels.state, v.value]), [['gate', Date.parse(it.stateHistory.at(-1)!.at) / 1000]]);
    } finally {
      await waiting.close();
    }
  });

  it('canary guards per arm from the served answers (p99 latency, benign refusals) and the in-process gateway counter (5xx); a guard breach rolls back', async () => {
    const w = await world();
    try {
      const since = new Date(Date.now() - 1000);
      const now = new Date();
      const answers = (model: string, n: number, latency: (i: number) => number, refusals: number) =>
        Array.from({ length: n }, (_, i) => ({
          id: `${model}-c${i}`, conversationId: `${model}-conv${i}`, comparisonId: null, messages: [{ role: 'user' as const, content: 'hi' }],
          response: i < refusals ? 'Sorry, I cannot help with that.' : 'Here is the answer.', modelVersion: model,
          sampling: { temperature: 1, topP: 1, maxTokens: 16, seed: null } as never, promptTokens: 1, completionTokens: 1, finishReason: 'stop' as const,
          ttftMs: 1, latencyMs: latency(i), userId: 'u', apiKeyId: null, shadow: false, createdAt: now, ingestedAt: now,
        }));
      await w.repos.completions.insertIgnoringDuplicates([...answers('canary-v', 40, (i) => (i === 39 ? 30_000 : 100 + i), 12), ...answers(BASE_POLICY, 40, () => 200, 2), ...answers('other', 40, () => 1, 40)]);
      const registry = new Registry();
      const requests = new Counter({ name: 'outerloop_gateway_requests_total', help: 'x', labelNames: ['route', 'status', 'model_version'], registers: [registry] });
      requests.inc({ route: '/v1/chat/completions', status: '200', model_version: 'canary-v' }, 5); // before the first look: the baseline
      const observe = canaryObserver({ feedback: w.repos.feedback, completions: w.repos.completions, registry });
      const q = { canaryModelId: 'canary-v', productionModelId: BASE_POLICY, since };
      const first = await observe(q);
      assert.equal(first.guards.errorRate, null, 'no requests since the first look');
      requests.inc({ route: '/v1/chat/completions', status: '200', model_version: 'canary-v' }, 15);
      requests.inc({ route: '/v1/chat/completions', status: '503', model_version: 'canary-v' }, 5);
      requests.inc({ route: '/v1/chat/completions', status: '200', model_version: BASE_POLICY }, 40);
      const obs = await observe(q);
      assert.deepEqual(obs.guards, { errorRate: 0.25, p99LatencyMs: 30_000, benignRefusalRate: 0.3 });
      assert.deepEqual(obs.productionGuards, { errorRate: 0, p99LatencyMs: 200, benignRefusalRate: 0.05 });
      const verdict = canaryVerdict(obs, { ...DEFAULT_CANARY_POLICY, maxErrorRate: 0.5 }, 0, 1000);
      assert.match(verdict.reason, /guard: p99 latency 30000 ms > 10000 ms, production 200/);
    } finally {
      await w.close();
    }
  });

  for (const [label, overrides, step] of [
    ['the RM gate', { rmAccuracy: 0.5 }, 'rm_gate'],
    ['the promotion gate', { verdict: 'fail' as const }, 'gate'],
  ] as const) {
    it(`stops at ${label}: rejected, and the candidate never gets traffic`, async () => {
      const w = await world(overrides);
      try {
        await w.orchestrator.trigger('manual');
        const done = await runToRest(w);
        assert.equal(done.state, 'rejected');
        assert.equal(done.stateHistory.at(-2)?.state, step);
        const current = await w.repos.deployments.current();
        assert.equal(current?.id, 'initial', 'no deployment changed');
        assert.equal(current?.canaryModelId, null);
      } finally {
        await w.close();
      }
    });
  }

  it("reads the trainer's reward_model result: its RM quality gate failing blocks at rm_gate even above the accuracy bar; passing, PPO runs", async () => {
    for (const [qualityGate, expected] of [['fail', 'rejected'], ['pass', 'promoted']] as const) {
      const w = await world({ trainerShape: { qualityGate } });
      try {
        await w.orchestrator.trigger('manual');
        const done = await runToRest(w);
        assert.equal(done.state, expected, done.error ?? '');
        assert.deepEqual(done.steps.train_rm?.outputs.metrics, { heldoutAccuracy: 0.7, hardPairAccuracy: 0.8, status: qualityGate === 'fail' ? 'rejected' : 'candidate', qualityGate });
        assert.match(String(done.steps.rm_gate?.outputs.reason), new RegExp(`RM quality gate: ${qualityGate}`));
      } finally {
        await w.close();
      }
    }
  });

  it("reads the evaluator handler's result shape: the configured policy's verdict (not the naive one's) decides", async () => {
    const w = await world({ verdict: 'fail', evaluatorShape: true });
    try {
      await w.orchestrator.trigger('manual');
      const done = await runToRest(w);
      assert.equal(done.state, 'rejected');
      assert.equal(done.steps.evaluate?.outputs.gateDecisionId, `ev-${done.candidateModelId}:reference`);
      assert.equal((await w.repos.deployments.current())?.id, 'initial');
    } finally {
      await w.close();
    }
  });

  it('a failed job fails the iteration with the reason; production untouched; a new iteration may start', async () => {
    const w = await world({ failKind: 'ppo' });
    try {
      await w.orchestrator.trigger('manual');
      const done = await runToRest(w);
      assert.equal(done.state, 'failed');
      assert.match(done.error ?? '', /^rl: job .* \(ppo\) failed: .*simulated trainer failure/);
      assert.equal((await w.repos.deployments.current())?.id, 'initial');
      await w.orchestrator.trigger('manual'); // the loop is free again
    } finally {
      await w.close();
    }
  });

  it('a step error that says it is not retriable (too few RL prompts in the fixed window) fails the iteration instead of retrying it forever', async () => {
    const w = await world({ minRlPrompts: 1000 });
    try {
      await w.orchestrator.trigger('manual');
      const done = await runToRest(w);
      assert.equal(done.state, 'failed');
      assert.match(done.error ?? '', /^snapshot: RL prompt set: \d+ distinct non-eval prompt\(s\) .* at least 1000 required/);
      assert.equal((await w.repos.deployments.current())?.id, 'initial');
    } finally {
      await w.close();
    }
  });

  it('data readiness: an iteration starts once the pairs the next snapshot would add reach the threshold, and not again on the same data', async () => {
    const dir = join(root, `w${n++}`);
    await seedWorld(dir);
    // three comparisons users made before any snapshot: every pair they yield is new
    const probe = await openWorld({ dir, rmAccuracy: 0.7, verdict: 'pass', canaryUp: 0.8, productionUp: 0.4, seed: 1 });
    const at = new Date(Date.now() - 20_000);
    for (let i = 0; i < 3; i++) {
      const completion = (id: string, response: string) => ({
        id, conversationId: `conv-${id}`, comparisonId: `cmp-${i}`, messages: [{ role: 'user' as const, content: `compare ${i}` }], response, modelVersion: BASE_POLICY,
        sampling: { temperature: 1, topP: 1, maxTokens: 16, seed: null } as never, promptTokens: 1, completionTokens: 1, finishReason: 'stop' as const, ttftMs: 1, latencyMs: 2,
        userId: 'user-rd', apiKeyId: null, shadow: false, createdAt: at, ingestedAt: at,
      });
      await probe.repos.completions.insertIgnoringDuplicates([completion(`rd-${i}-a`, `a good answer ${i}`), completion(`rd-${i}-b`, `a poor answer ${i}`)]);
      await probe.repos.feedback.insertIgnoringDuplicates([{ id: `rd-fb-${i}`, completionId: `rd-${i}-a`, type: 'pairwise', value: 1, otherCompletionId: `rd-${i}-b`, editedResponse: null, comment: null, userId: 'user-rd', apiKeyId: null, createdAt: at, ingestedAt: at }]);
    }
    const seeded = await new DatasetService(probe.repos, new LocalArtifactStore(join(dir, 'artifacts'))).newPairsSinceNewestSnapshot();
    await probe.close();
    assert.equal(seeded, 3, 'one pair per comparison');
    const w = await openWorld({ dir, rmAccuracy: 0.7, verdict: 'pass', canaryUp: 0.8, productionUp: 0.4, seed: 1, minNewPairs: seeded });
    try {
      assert.equal(await w.orchestrator.tick(), 'started');
      const done = await runToRest(w);
      assert.equal(done.trigger, 'data');
      assert.equal(done.state, 'promoted', done.error ?? '');
      // the iteration's snapshot holds the seeded pairs; only feedback given during its canary is new
      const fresh = await new DatasetService(w.repos, new LocalArtifactStore(join(dir, 'artifacts'))).newPairsSinceNewestSnapshot();
      assert.ok(fresh < seeded, `${fresh} pairs from the canary's feedback, fewer than the threshold ${seeded}`);
      assert.equal(await w.orchestrator.tick(), 'idle');
    } finally {
      await w.close();
    }
  });

  it('the database and the bus failing mid-iteration: it waits, resumes, and ends like an undisturbed run (one job per step, the same deployments)', async () => {
    const w = await world({ flaky: true });
    try {
      await w.repos.transactions.run(async () => undefined); // the world opens fine
      let started = null;
      while (!started) started = await w.orchestrator.trigger('manual').catch((e: Error) => (/simulated/.test(e.message) ? null : Promise.reject(e)));
      const done = await runToRest(w);
      assert.equal(done.state, 'promoted', done.error ?? '');
      assert.deepEqual(done.stateHistory.map((h) => h.state), [...LOOP_STEPS, 'promoted'], 'no state entered twice');
      assert.equal((await w.queue.list({})).length, 4);
      // the set, not the order: rows made within one millisecond share a created_at
      const deployments = await w.ds.getRepository(DeploymentEntity).find();
      assert.deepEqual(deployments.map((d) => d.id).sort(), ['initial', `${done.id}:canary`, `${done.id}:promoted`].sort());
    } finally {
      await w.close();
    }
  });

  it('needs_review waits for an operator; illegal actions name the state; approve sends it to canary', async () => {
    const w = await world({ verdict: 'needs_review' });
    try {
      const it0 = await w.orchestrator.trigger('manual');
      await assert.rejects(w.orchestrator.trigger('manual'), (e: Error & { code?: string }) => e.code === 'loop_busy' && /is snapshot/.test(e.message));
      await assert.rejects(w.orchestrator.review(it0.id, 'approved', 'ops'), (e: Error) => e instanceof IllegalLoopActionError && /is snapshot: cannot approve/.test(e.message));
      const waiting = await runToRest(w);
      assert.equal(waiting.state, 'gate');
      assert.equal(waiting.steps.gate?.outputs.verdict, 'needs_review');
      await assert.rejects(w.orchestrator.rollback(it0.id, 'x'), (e: Error) => e instanceof IllegalLoopActionError && /is gate: cannot rollback/.test(e.message));
      const approved = await w.orchestrator.review(it0.id, 'approved', 'ops');
      assert.equal(approved.state, 'canary');
      assert.equal((await w.repos.deployments.current())?.canaryModelId, approved.candidateModelId);
      // a forced rollback of the running canary
      const rolled = await w.orchestrator.rollback(it0.id, 'operator says no');
      assert.equal(rolled.state, 'rolled_back');
      assert.equal((await w.repos.deployments.current())?.productionModelId, BASE_POLICY);
      assert.equal((await w.repos.deployments.current())?.canaryModelId, null);
      await assert.rejects(w.orchestrator.review(it0.id, 'approved', 'ops'), /is rolled_back: cannot approve/);
    } finally {
      await w.close();
    }
  });

  it('rejecting a needs_review gate rejects the iteration', async () => {
    const w = await world({ verdict: 'needs_review' });
    try {
      const it0 = await w.orchestrator.trigger('manual');
      await runToRest(w);
      const rejected = await w.orchestrator.review(it0.id, 'rejected', 'ops');
      assert.equal(rejected.state, 'rejected');
      assert.equal((await w.repos.modelRegistry.get(rejected.candidateModelId!))?.status, 'rejected');
    } finally {
      await w.close();
    }
  });

  it('pause stops the loop at the next step and refuses triggers; resume continues where it stopped', async () => {
    const w = await world();
    try {
      const it0 = await w.orchestrator.trigger('manual');
      const paused = await w.orchestrator.pause();
      assert.equal(paused?.state, 'paused');
      assert.equal(paused?.pausedFrom, 'snapshot');
      assert.equal((await runToRest(w)).state, 'paused');
      await assert.rejects(w.orchestrator.pause().then(() => w.orchestrator.resume()).then(() => w.orchestrator.trigger('manual')), /one iteration runs at a time/);
      const done = await runToRest(w);
      assert.equal(done.id, it0.id);
      assert.equal(done.state, 'promoted');
      await w.orchestrator.pause();
      await assert.rejects(w.orchestrator.trigger('manual'), /the loop is paused/);
      await w.orchestrator.resume();
      // a promoted iteration can be rolled back: production returns to the previous model
      const rolled = await w.orchestrator.rollback(it0.id, 'regression found');
      assert.equal(rolled.state, 'rolled_back');
      assert.equal((await w.repos.deployments.current())?.productionModelId, BASE_POLICY);
    } finally {
      await w.close();
    }
  });

  it('the lease: one orchestrator at a time; a successor takes over once the holder stops renewing', async () => {
    const w = await world();
    try {
      const a = w.orchestrator;
      assert.equal(await a.renewLease(), true);
      const b = w.spawnOrchestrator('successor');
      assert.equal(await b.tick(), 'standby');
      const later = new Date(Date.now() + 10_000);
      assert.equal(await w.repos.loopLeases.acquire('loop', 'successor', 400, later), true, 'a lapsed lease is taken over');
      assert.equal(await a.renewLease(), false, 'the old holder lost it');
    } finally {
      await w.close();
    }
  });

  it('admin API: show, lineage of a model and of a feedback event, 409 naming the state, the canary verdict for Argo Rollouts and Flagger', async () => {
    const w = await world();
    try {
      const api = new LoopController(w.orchestrator, new LoopLineage(w.repos));
      const started = await api.trigger();
      const conflict = await api.approve(started.id, {}).then(() => null, (e: unknown) => e);
      assert.ok(conflict instanceof HttpException);
      assert.equal(conflict.getStatus(), 409);
      assert.match(JSON.stringify(conflict.getResponse()), /is snapshot: cannot approve.*"state":"snapshot"/);
      const done = await runToRest(w);
      const shown = await api.show(done.id);
      assert.deepEqual(shown.jobs.map((j) => j.kind).sort(), ['evaluation', 'ppo', 'reward_model', 'reward_model']);
      const lineage = await api.modelLineage(done.candidateModelId!);
      assert.equal(lineage.iteration, done.id);
      assert.equal(lineage.ancestors[0], BASE_POLICY);
      assert.equal(lineage.chain.snapshot?.id, done.snapshotId);
      assert.equal(lineage.chain.rewardModel?.id, `rm-${done.id}`);
      assert.equal(lineage.chain.outcome, 'promoted');
      assert.equal((lineage.chain.canary as { decision: string }).decision, 'promote');
      const verdict = await api.canary();
      assert.equal(verdict.decision, 'promote');
      assert.equal((await api.flagger('confirm-promotion')).decision, 'promote');
      const refused = await api.flagger('rollback').then(() => null, (e: unknown) => e);
      assert.ok(refused instanceof HttpException && refused.getStatus() === 412);
      const missing = await api.show('no-such').then(() => null, (e: unknown) => e);
      assert.ok(missing instanceof HttpException && missing.getStatus() === 404);
      // feedback sent during this canary came after the snapshot window: it trained nothing yet
      assert.deepEqual((await api.feedbackLineage('fb-0')).iterations, []);
    } finally {
      await w.close();
    }
  });
});
