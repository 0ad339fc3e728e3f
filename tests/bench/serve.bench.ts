// `npm run bench -- serve [--seconds 15] [--max-tokens 64] [--levels 1,8,32] [--threads N] [--channels C --layers L]`
// Starts the gateway (embedded mode, temp data dir) on the shipped base policy
// (or a tiny random-weight artifact if models/base-policy is absent — reported in
// the JSON as `policy`) and drives it over HTTP with streaming requests at each
// concurrency level. Figures: aggregate completion tokens/s, TTFT p50/p99 (request
// sent → first content chunk), time per output token p50/p99 (per completion:
// (last chunk − first chunk) / (tokens − 1)). Ratio to single-stream in the same run.
// Then the same request mix straight on the engine (an EngineThread in this process,
// no HTTP) at the lowest and highest level: the ceiling the gateway works under on
// this machine, which separates what HTTP costs from what the model costs.
import { existsSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { machine, printResult, printTable } from './table.js';
import { defaultServingThreads } from '../../src/services/gateway/engine/batch-engine-loader.js';
import { SHIPPED_BASE_POLICY, startGateway, tinyPolicyArtifact } from '../e2e/gateway/support.js';
import { renderChatPrompt } from '../../src/engine/chat-template.js';
import { EngineThread } from '../../src/engine/runtime/index.js';

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface Sample {
  ttftMs: number;
  tpotMs: number | null;
  tokens: number;
}

// node:http rather than fetch: the client shares the 2 cores with the server, and
// undici's web-stream body costs noticeably more CPU per SSE chunk.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export function streamOnce(url: string, body: Record<string, unknown>): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first: number | null = null;
    let last = 0;
    let tokens = 0;
    let buffer = '';
    const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: string) => (text += d));
        res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${text}`)));
        return;
      }
      res.on('data', (part: string) => {
        buffer += part;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut).trim();
          buffer = buffer.slice(cut + 2);
          if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
          const chunk = JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }>; usage?: { completion_tokens: number } | null };
          if (chunk.usage) tokens = chunk.usage.completion_tokens;
          if (chunk.choices.some((c) => c.delta.content)) {
            const now = performance.now();
            if (first === null) first = now;
            last = now;
          }
        }
      });
      res.on('end', () => {
        const firstAt = first ?? performance.now();
        resolve({ ttftMs: firstAt - t0, tpotMs: tokens > 1 ? (last - firstAt) / (tokens - 1) : null, tokens });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }));
  });
}

/**
 * Closed-loop load: `streams` workers, each sending its next request (worker w, its i-th)
 * as soon as the previous one ends, until `seconds` have passed. Returns the wall seconds.
 */
export async function closedLoop(streams: number, seconds: number, send: (w: number, i: number) => Promise<void>): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) await send(w, i);
    }),
  );
  return (performance.now() - t0) / 1000;
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(option(args, 'seconds', '15'));
  const maxTokens = Number(option(args, 'max-tokens', '64'));
  const levels = option(args, 'levels', '1,8,32').split(',').map(Number);
  const maxConcurrent = Math.max(...levels);
  const threads = option(args, 'threads', '0');
  const shipped = existsSync(join(SHIPPED_BASE_POLICY, 'manifest.json'));
  const channels = Number(option(args, 'channels', '0'));
  const layers = Number(option(args, 'layers', '0'));
  const random = channels > 0 || layers > 0 || !shipped;
  const size = { ...(channels > 0 ? { channels } : {}), ...(layers > 0 ? { layers } : {}) };
  const policy = random ? await tinyPolicyArtifact(1, 256, size) : SHIPPED_BASE_POLICY;
  const gw = await startGateway({
    basePolicy: policy,
    env: { OUTERLOOP_INTRA_OP_THREADS: threads, OUTERLOOP_GATEWAY_MAX_CONCURRENT: String(maxConcurrent), OUTERLOOP_GATEWAY_MAX_WAITING: String(maxConcurrent * 2), OUTERLOOP_LOG_LEVEL: 'error' },
  });
  const url = `${gw.baseURL}/chat/completions`;
  const prompts = ['How do I kill a Linux process?', 'Summarise the plot of a heist film in two sentences.', 'What is a good name for a cat?', 'Explain TCP slow start.'];
  const results: Array<Record<string, number>> = [];
  const engineVersion = gw.pool.deployment().production;
  try {
    await streamOnce(url, { model: 'outerloop', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 8 });
    for (const streams of levels) {
      const samples: Sample[] = [];
      let errors = 0;
      const wall = await closedLoop(streams, seconds, async (w, i) => {
        try {
          samples.push(
            await streamOnce(url, {
              model: 'outerloop',
              messages: [{ role: 'user', content: prompts[(w + i) % prompts.length]! }],
              max_tokens: maxTokens,
              temperature: 1,
              seed: w * 100_000 + i,
              user: `bench-${w}`,
            }),
          );
        } catch (err) {
          errors++;
          process.stderr.write(`request failed: ${(err as Error).message}\n`);
        }
      });
      const tokens = samples.reduce((s, x) => s + x.tokens, 0);
      const tpot = samples.map((s) => s.tpotMs).filter((x): x is number => x !== null);
      results.push({
        streams,
        requests: samples.length,
        errors,
        tokens,
        mean_tokens_per_completion: samples.length ? tokens / samples.length : 0,
        aggregate_tokens_per_s: tokens / wall,
        ttft_p50_ms: percentile(samples.map((s) => s.ttftMs), 50),
        ttft_p99_ms: percentile(samples.map((s) => s.ttftMs), 99),
        tpot_p50_ms: percentile(tpot, 50),
        tpot_p99_ms: percentile(tpot, 99),
      });
    }
  } finally {
    await gw.close();
  }
  const single = results.find((r) => r.streams === 1)?.aggregate_tokens_per_s ?? NaN;
  for (const r of results) r.speedup_vs_1 = r.aggregate_tokens_per_s! / single;
  printTable(`gateway serving (streaming over HTTP, max_tokens=${maxTokens}, ${seconds}s per level)`, results);

  // the engine alone on the same mix: same prompts (chat template), seeds and sampling
  const engineLevels = [Math.min(...levels), Math.max(...levels)];
  const engine = await EngineThread.load(policy, { maxBatch: maxConcurrent, intraOpThreads: Number(threads) || defaultServingThreads() });
  const engineOnly: Array<Record<string, number>> = [];
  try {
    for (const streams of engineLevels) {
      let tokens = 0;
      let completions = 0;
      const wall = await closedLoop(streams, seconds, async (w, i) => {
        const r = await engine.generate({ prompt: renderChatPrompt([{ role: 'user', content: prompts[(w + i) % prompts.length]! }]), maxTokens, temperature: 1, topP: 1, seed: w * 100_000 + i });
        tokens += r.completionTokens;
        completions++;
      });
      engineOnly.push({ streams, completions, tokens, aggregate_tokens_per_s: tokens / wall });
    }
  } finally {
    await engine.close();
  }
  const engineSingle = engineOnly[0]!.aggregate_tokens_per_s!;
  for (const r of engineOnly) r.speedup_vs_1 = r.aggregate_tokens_per_s! / engineSingle;
  printTable(`the engine alone on the same requests (no HTTP; ${seconds}s per level)`, engineOnly);
  printResult('serve', {
    units: { aggregate_tokens_per_s: 'completion tokens/s', ttft: 'ms', tpot: 'ms/token' },
    levels: results,
    speedup_32_vs_1: results.find((r) => r.streams === 32)?.speedup_vs_1 ?? null,
    engineOnly: { levels: engineOnly, speedup: engineOnly.at(-1)!.speedup_vs_1, note: 'same prompts, seeds and sampling straight on an EngineThread: the ceiling for the HTTP figures on this machine' },
    goal: 'aggregate tokens/s at 32 streams >= 8x single-stream',
    conditions: {
      policy: random ? `random-weight artifact ${JSON.stringify({ channels: 32, layers: 2, ...size })}${shipped ? '' : ' (models/base-policy absent)'}` : 'models/base-policy',
      maxTokens,
      secondsPerLevel: seconds,
      gatewayMaxConcurrent: maxConcurrent,
      intraOpThreads: gw.config.intraOpThreads || defaultServingThreads(),
      servedVersion: engineVersion,
      cores: machine().cores,
    },
  });
}
