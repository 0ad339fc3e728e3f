// The graph passes (passes.ts) remove nodes of a finished training graph; they must not
// change a single output: every loss's value, metrics and every gradient tensor equal the
// unrewritten graph's, and the passes actually found work to remove.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GptConfig } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { buildTrainGraph } from '../../../../src/engine/train/train-graph.js';
import type { LossBuilder } from '../../../../src/engine/train/loss.js';
import { sftLoss } from '../../../../src/rlhf/sft/sft.loss.js';
import { rewardLoss } from '../../../../src/rlhf/reward/reward.loss.js';
import { ppoLoss } from '../../../../src/rlhf/ppo/ppo.loss.js';
import { dpoLoss } from '../../../../src/rlhf/dpo/dpo.loss.js';

const LOSSES: readonly LossBuilder[] = [sftLoss, rewardLoss, ppoLoss, dpoLoss];
import { FloatType, Graph } from '../../../../src/engine/graph/builder.js';
import { eliminateDeadNodes, optimizeTrainingGraph } from '../../../../src/engine/graph/passes.js';
import { getSession, ort } from '../../../../src/engine/graph/session.js';
import { Rng } from '../../../../src/engine/rng.js';

const CONFIG: GptConfig = { vocabSize: 16, maxSeqLen: 8, channels: 8, layers: 2, heads: 2 };
const B = 2, T = 5;

/** Feeds for any loss kind: batch inputs by name and shape, weights perturbed from the seeded init. */
function feedsFor(graph: Graph, floatType: FloatType): Record<string, ort.Tensor> {
  const rng = new Rng(17);
  const params = initGptParameters(CONFIG, 5);
  for (let i = 0; i < params.data.length; i++) params.data[i] = params.data[i]! + 0.1 * rng.normal();
  const float = (values: ArrayLike<number>, shape: number[]): ort.Tensor =>
    floatType === 'float64' ? new ort.Tensor('float64', Float64Array.from(values), shape) : new ort.Tensor('float32', Float32Array.from(values), shape);
  const feeds: Record<string, ort.Tensor> = {};
  for (const s of params.layout) feeds[s.name] = float(params.view(s.name), [...s.shape]);
  for (const input of graph.inputs) {
    if (input.name in feeds) continue;
    const shape = input.shape.map((d) => (d === 'B' ? B : d === '2B' ? 2 * B : d === 'T' ? T : (d as number)));
    const n = shape.reduce((p, q) => p * q, 1);
    if (input.dtype === 'int64') {
      const upper = input.name === 'lengths' ? T : CONFIG.vocabSize;
      feeds[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(input.name === 'lengths' ? 1 + rng.nextInt(upper) : rng.nextInt(upper))), shape);
    } else {
      const positive = /mask|coef|clip|eps|beta/.test(input.name);
      feeds[input.name] = float(Array.from({ length: n }, () => (positive ? 0.2 + rng.next() : rng.normal())), shape);
    }
  }
  return feeds;
}

async function outputs(loss: LossBuilder, floatType: FloatType, rewrite: boolean): Promise<{ out: Record<string, ort.Tensor>; report: ReturnType<typeof optimizeTrainingGraph> | null }> {
  const { graph } = buildTrainGraph(CONFIG, loss, floatType);
  const report = rewrite ? optimizeTrainingGraph(graph) : null;
  const session = await getSession(graph, { intraOpThreads: 1 });
  return { out: await session.run(feedsFor(graph, floatType)), report };
}

describe('graph passes leave every output of the training graphs unchanged', () => {
  for (const loss of LOSSES) {
    const kind = loss.name;
    for (const floatType of ['float64', 'float32'] as const) {
      it(`${kind}, ${floatType}: loss, metrics and every gradient equal the unrewritten graph's`, async () => {
        const plain = await outputs(loss, floatType, false);
        const rewritten = await outputs(loss, floatType, true);
        const report = rewritten.report!;
        // At least the (B, NH, T, T) → (T, T) gradient of each layer's causal mask.
        assert.ok(report.deadNodes >= CONFIG.layers, `passes found nothing to do: ${JSON.stringify(report)}`);
        const tol = 0; // removing nodes no output reads changes no computed value
        assert.deepEqual(Object.keys(rewritten.out).sort(), Object.keys(plain.out).sort());
        for (const [name, t] of Object.entries(plain.out)) {
          const a = t.data as Float64Array | Float32Array, b = rewritten.out[name]!.data as Float64Array | Float32Array;
          let maxdiff = 0;
          for (let i = 0; i < a.length; i++) maxdiff = Math.max(maxdiff, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
          assert.ok(maxdiff <= tol, `${kind} ${floatType} ${name}: relative maxdiff ${maxdiff} > ${tol}`);
        }
      });
    }
  }

  it('dead-node elimination keeps every node an output needs and drops the rest', () => {
    const g = new Graph('float64');
    const a = g.input('a', [3]);
    const used = g.exp(a);
    g.tanh(a); // computed, never read
    g.output('y', g.mul(used, used));
    assert.equal(eliminateDeadNodes(g), 1);
    assert.deepEqual(g.nodes.map((n) => n.op), ['Exp', 'Mul', 'Identity']);
  });
});
