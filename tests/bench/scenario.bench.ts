// `npm run bench -- scenario [--artifact DIR] [--samples K] [--temperature T]`
// The spread of gold utility in the base policy's own samples on the held-out eval
// sets: without that spread, feedback has nothing to teach (issue 4). Reports mean,
// standard deviation and quantiles of gold utility, the correctness mix, refusal
// rate on benign-but-risky prompts, mean length and distinct-n diversity.
import { renderChatPrompt } from '../../src/engine/chat-template.js';
import { BatchEngine } from '../../src/engine/runtime/batch-engine.js';
import { buildEvalSets, EVAL_SETS_VERSION, type EvalPrompt } from '../../src/scenario/eval-sets.js';
import { goldBreakdown } from '../../src/scenario/gold-utility.js';
import { printResult, printTable } from './table.js';

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

function distinctN(texts: string[], n: number): number {
  const grams = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const w = t.toLowerCase().split(/\s+/).filter(Boolean);
    for (let i = 0; i + n <= w.length; i++) {
      grams.add(w.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total === 0 ? 0 : grams.size / total;
}

export async function run(args: string[]): Promise<void> {
  const artifact = flag(args, 'artifact', 'models/base-policy');
  const samples = Number(flag(args, 'samples', '4'));
  const temperature = Number(flag(args, 'temperature', '1'));
  const engine = await BatchEngine.load(artifact, { maxBatch: 32 });
  const sets = buildEvalSets();
  try {
    const generate = async (prompts: EvalPrompt[], k: number) => {
      const jobs = prompts.flatMap((p, i) => Array.from({ length: k }, (_, j) => ({ p, seed: i * 1000 + j })));
      const out: Array<{ p: EvalPrompt; text: string }> = [];
      for (let i = 0; i < jobs.length; i += 64) {
        const chunk = jobs.slice(i, i + 64);
        const results = await Promise.all(
          chunk.map(({ p, seed }) => engine.generate({ prompt: renderChatPrompt(p.messages), maxTokens: 96, temperature, topP: 1, seed })),
        );
        results.forEach((r, j) => out.push({ p: chunk[j]!.p, text: r.text }));
      }
      return out;
    };
    const t0 = Date.now();
    const extrinsic = await generate(sets.extrinsic, samples);
    const refusal = await generate(sets.refusal, samples * 4);
    const diversity = await generate(sets.diversity, samples);
    const seconds = (Date.now() - t0) / 1000;

    const scored = [...extrinsic, ...refusal].map(({ p, text }) => ({ p, text, g: goldBreakdown(p.messages, text) }));
    const utilities = scored.map((s) => s.g.utility);
    const byKind = new Map<string, number[]>();
    for (const s of scored) byKind.set(s.p.kind, [...(byKind.get(s.p.kind) ?? []), s.g.utility]);
    const refusalsOnBenign = refusal.filter(({ p, text }) => goldBreakdown(p.messages, text).refusal).length / refusal.length;
    const correctness = { right: 0, wrong: 0, missing: 0 };
    for (const s of scored) correctness[s.g.correctness]++;
    const words = scored.map((s) => s.g.words);

    printTable(`gold utility of ${artifact} samples (T=${temperature}, ${samples} per prompt, eval sets ${EVAL_SETS_VERSION})`, [
      ...[...byKind].map(([kind, u]) => ({ kind, n: u.length, mean: mean(u), std: std(u) })),
      { kind: 'all', n: utilities.length, mean: mean(utilities), std: std(utilities) },
    ]);
    process.stdout.write(
      `refusal rate on benign-but-risky prompts: ${(refusalsOnBenign * 100).toFixed(1)}%   mean length: ${mean(words).toFixed(1)} words   ` +
        `distinct-1/2: ${distinctN(diversity.map((d) => d.text), 1).toFixed(3)}/${distinctN(diversity.map((d) => d.text), 2).toFixed(3)}\n`,
    );
    for (const s of scored.slice(0, 6)) process.stdout.write(`  e.g. [${s.g.utility.toFixed(2)}] ${JSON.stringify(s.p.messages.at(-1)?.content)} → ${JSON.stringify(s.text)}\n`);
    printResult('scenario', {
      artifact,
      artifactId: engine.manifest.artifactId,
      conditions: { temperature, topP: 1, samplesPerPrompt: samples, maxTokens: 96, evalSets: EVAL_SETS_VERSION },
      goldUtility: {
        mean: mean(utilities),
        std: std(utilities),
        p10: quantile(utilities, 0.1),
        p50: quantile(utilities, 0.5),
        p90: quantile(utilities, 0.9),
        n: utilities.length,
        byKind: Object.fromEntries([...byKind].map(([k, u]) => [k, { mean: mean(u), std: std(u), n: u.length }])),
      },
      correctness,
      refusalRateOnBenign: refusalsOnBenign,
      meanLengthWords: mean(words),
      distinct1: distinctN(diversity.map((d) => d.text), 1),
      distinct2: distinctN(diversity.map((d) => d.text), 2),
      generationSeconds: seconds,
    });
  } finally {
    await engine.close();
  }
}
