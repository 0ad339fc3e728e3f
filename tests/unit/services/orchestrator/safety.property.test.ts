// The safety invariant (issue #12 item 6) as a property: over seeded random sequences
// of loop steps, orchestrator crashes (a successor takes the lease over mid-iteration)
// and admin actions (pause, resume, approve, reject, rollback, pin, trigger), a model
// whose iteration failed the RM gate or the promotion gate never appears in a
// deployment — neither as canary nor as production — and never reaches the registry's
// canary or production status.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { IllegalLoopActionError, mayReceiveTraffic, type LoopIterationRecord } from '../../../../src/domain/loop.js';
import { DeploymentEntity } from '../../../../src/platform/persistence/entities/deployment.entity.js';
import { LoopBusyError } from '../../../../src/services/orchestrator/orchestrator.js';
import { mulberry32 } from '../../../support/mulberry32.js';
import { BASE_POLICY, openWorld, seedWorld, type World } from './loop-world.js';

const SEQUENCES = 24;
const EVENTS = 30;
const root = mkdtempSync(join(tmpdir(), 'outerloop-safety-'));
after(() => rmSync(root, { recursive: true, force: true }));

const EVENT_KINDS = ['step', 'step', 'step', 'step', 'crash', 'pause', 'resume', 'approve', 'reject', 'rollback', 'pin', 'trigger'] as const;

async function checkInvariant(w: World, trace: string[]): Promise<void> {
  const iterations = await w.repos.loopIterations.list(1000);
  const byCandidate = new Map<string, LoopIterationRecord>();
  for (const it of iterations) if (it.candidateModelId) byCandidate.set(it.candidateModelId, it);
  const deployments = await w.ds.getRepository(DeploymentEntity).find();
  for (const d of deployments) {
    for (const model of [d.productionModelId, d.canaryModelId]) {
      if (!model || model === BASE_POLICY) continue;
      const it = byCandidate.get(model);
      assert.ok(it, `deployment ${d.id} serves ${model}, which no iteration produced (trace: ${trace.join(' ')})`);
      const verdict = mayReceiveTraffic(it);
      assert.ok(verdict.allowed, `deployment ${d.id} serves ${model}: ${verdict.reason} (trace: ${trace.join(' ')})`);
    }
  }
  for (const it of iterations) {
    if (!it.candidateModelId || mayReceiveTraffic(it).allowed) continue;
    const status = (await w.repos.modelRegistry.get(it.candidateModelId))?.status;
    assert.ok(status !== 'canary' && status !== 'production', `${it.candidateModelId} is ${status} though ${mayReceiveTraffic(it).reason} (trace: ${trace.join(' ')})`);
  }
}

it(`a model that failed a gate never receives traffic (${SEQUENCES} seeded sequences × ${EVENTS} events of steps, crashes and admin actions)`, async () => {
  let illegal = 0;
  let reachedCanary = 0;
  for (let seq = 0; seq < SEQUENCES; seq++) {
    const rand = mulberry32(0x5afe + seq);
    const dir = join(root, `s${seq}`);
    await seedWorld(dir);
    const w = await openWorld({
      dir,
      rmAccuracy: rand() < 0.3 ? 0.5 : 0.7,
      verdict: (['pass', 'fail', 'needs_review'] as const)[Math.floor(rand() * 3)]!,
      canaryUp: rand(),
      productionUp: rand(),
      seed: seq,
    });
    let orchestrator = w.orchestrator;
    const trace: string[] = [];
    try {
      for (let e = 0; e < EVENTS; e++) {
        const kind = EVENT_KINDS[Math.floor(rand() * EVENT_KINDS.length)]!;
        trace.push(kind);
        const [open] = await w.repos.loopIterations.findUnfinished();
        const newest = (await w.repos.loopIterations.list(1))[0];
        const target = open ?? newest;
        try {
          switch (kind) {
            case 'step':
              await orchestrator.tick(1);
              break;
            case 'crash': {
              // the holder dies; a successor takes the lapsed lease
              orchestrator = w.spawnOrchestrator(`successor-${seq}-${e}`);
              await w.repos.loopLeases.acquire('loop', orchestrator.owner, 400, new Date(Date.now() + 60_000 * (e + 1)));
              break;
            }
            case 'pause':
              await orchestrator.pause();
              break;
            case 'resume':
              await orchestrator.resume();
              break;
            case 'approve':
            case 'reject':
              if (target) await orchestrator.review(target.id, kind === 'approve' ? 'approved' : 'rejected', 'prop');
              break;
            case 'rollback':
              if (target) await orchestrator.rollback(target.id, 'prop');
              break;
            case 'pin': {
              const models = [BASE_POLICY, ...(await w.repos.loopIterations.list(100)).map((i) => i.candidateModelId).filter((m): m is string => !!m)];
              await orchestrator.pin(models[Math.floor(rand() * models.length)]!, 'prop');
              break;
            }
            case 'trigger':
              await orchestrator.trigger('manual');
              break;
          }
        } catch (err) {
          // refusals are part of the property: illegal actions are refused with their reason
          if (err instanceof IllegalLoopActionError || err instanceof LoopBusyError || (err as { code?: string }).code === 'iteration_not_found') illegal++;
          else throw err;
        }
        await checkInvariant(w, trace);
        if ((await w.repos.deployments.current())?.canaryModelId) reachedCanary++;
      }
    } finally {
      await w.close();
    }
  }
  // the sequences must exercise the dangerous paths, or the property proves nothing
  assert.ok(illegal > 0, 'some actions were refused');
  assert.ok(reachedCanary > 0, 'some sequences reached a canary');
});
