// A deterministic PolicyBackend for fast gateway tests: the text is a function of
// (version, prompt, seed) only, tokens arrive asynchronously one per tick (or per
// `tokenDelayMs`), stop sequences cut the final text like the real engine, and an
// abort signal ends the generation with finishReason 'cancelled' and frees the row.
import { createHash } from 'node:crypto';
import type { PromptSegment } from '../../../../../src/engine/chat-template.js';
import type { GenerateParams, GenerateResult, PolicyBackend, TokenEvent } from '../../../../../src/services/gateway/engine/policy-backend.js';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'kill', 'process', 'linux', 'signal', 'use', 'the', 'STOP', 'ok'];

export class FakeBackend implements PolicyBackend {
  active = 0;
  maxActive = 0;
  steps = 0;
  closed = false;
  generated = 0;

  private readonly failureListeners: Array<(error: Error) => void> = [];

  constructor(
    readonly version: string,
    readonly opts: { tokenDelayMs?: number; tokensPerAnswer?: number } = {},
  ) {}

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** Simulates the engine thread dying: the backend is unusable and says so once. */
  die(): void {
    this.closed = true;
    const error = new Error(`FakeBackend ${this.version} died`);
    for (const listener of this.failureListeners.splice(0)) listener(error);
  }

  static loader(created: FakeBackend[] = [], opts: { tokenDelayMs?: number; tokensPerAnswer?: number } = {}) {
    return async (dir: string) => {
      const b = new FakeBackend(dir, opts);
      created.push(b);
      return b;
    };
  }

  private tokensFor(p: GenerateParams): string[] {
    const promptText = Array.isArray(p.prompt)
      ? (p.prompt as Array<PromptSegment | number>).map((s) => (typeof s === 'number' ? String(s) : 'special' in s ? s.special : s.text)).join('')
      : '';
    const total = this.opts.tokensPerAnswer ?? 12;
    const out = [`[${this.version}]`];
    let h = createHash('sha256').update(promptText).update(String(p.seed ?? 0)).update(String(p.temperature)).digest();
    for (let i = 1; i < total; i++) {
      if (i % 8 === 0) h = createHash('sha256').update(h).digest();
      out.push(' ' + WORDS[h[i % 32]! % WORDS.length]!);
    }
    return out;
  }

  async generate(p: GenerateParams, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    if (this.closed) throw new Error(`FakeBackend ${this.version} used after close`);
    const planned = this.tokensFor(p);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const tokens: TokenEvent[] = [];
    let text = '';
    let finishReason: GenerateResult['finishReason'] = 'stop';
    try {
      for (let i = 0; ; i++) {
        if (p.signal?.aborted) {
          finishReason = 'cancelled';
          break;
        }
        if (i >= p.maxTokens) {
          finishReason = 'length';
          break;
        }
        if (i >= planned.length) {
          finishReason = 'stop';
          break;
        }
        await new Promise((r) => (this.opts.tokenDelayMs ? setTimeout(r, this.opts.tokenDelayMs) : setImmediate(r)));
        if (p.signal?.aborted) {
          finishReason = 'cancelled';
          break;
        }
        this.steps++;
        const piece = planned[i]!;
        const ev: TokenEvent = {
          tokenId: i,
          text: piece,
          logprob: -0.1 * (i + 1),
          topLogprobs: p.topLogprobs ? [{ text: piece, logprob: -0.1 * (i + 1) }, { text: ' other', logprob: -3 }].slice(0, p.topLogprobs) : undefined,
        };
        tokens.push(ev);
        onToken?.(ev);
        text += piece;
        const stopAt = (p.stop ?? []).map((s) => text.indexOf(s)).filter((x) => x >= 0);
        if (stopAt.length) {
          text = text.slice(0, Math.min(...stopAt));
          finishReason = 'stop';
          break;
        }
      }
    } finally {
      this.active--;
    }
    this.generated++;
    return { text, finishReason, promptTokens: 7, completionTokens: tokens.length, tokens };
  }

  stats() {
    return { activeRows: this.active, waiting: 0, lastBatchSize: this.active, steps: this.steps };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
