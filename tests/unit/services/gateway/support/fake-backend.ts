// A deterministic PolicyBackend for fast gateway tests: the text is a function of
// (version, prompt, seed) only, tokens arrive asynchronously one per tick (or per
// `tokenDelayMs`), and an abort signal ends the generation with finishReason
// 'cancelled' and frees the row.
//
// It honours the real engine's contract (BatchEngine.generate), because a double that
// behaves differently hides bugs in the caller:
// - the request is validated when it enters, with the engine's typed errors and codes
//   (SamplingParamsError, ContextLengthError — the fake's context is counted in
//   characters of the prompt), before any token;
// - stop sequences are matched by the engine's own StopMatcher: a token event's text
//   never contains (the start of) a stop string, and the events' texts concatenate to
//   the result's text.
import { createHash } from 'node:crypto';
import type { PromptSegment } from '../../../../../src/engine/chat-template.js';
import { ContextLengthError, MAX_TOP_LOGPROBS } from '../../../../../src/engine/runtime/batch-engine.js';
import { SamplingParamsError, StopMatcher, validateSamplingParams } from '../../../../../src/engine/sampling/index.js';
import type { GenerateParams, GenerateResult, PolicyBackend, TokenEvent } from '../../../../../src/services/gateway/engine/policy-backend.js';

export interface FakeBackendOptions {
  tokenDelayMs?: number;
  tokensPerAnswer?: number;
  /** prompt characters the fake's context holds (default 4,000) */
  contextChars?: number;
  /** a model fault to simulate: the row fails with this error after its first token */
  faultAfterFirstToken?: (p: GenerateParams) => Error | null;
}

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
    readonly opts: FakeBackendOptions = {},
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

  static loader(created: FakeBackend[] = [], opts: FakeBackendOptions = {}) {
    return async (dir: string) => {
      const b = new FakeBackend(dir, opts);
      created.push(b);
      return b;
    };
  }

  private static promptText(p: GenerateParams): string {
    return Array.isArray(p.prompt)
      ? (p.prompt as Array<PromptSegment | number>).map((s) => (typeof s === 'number' ? String(s) : 'special' in s ? s.special : s.text)).join('')
      : '';
  }

  /** BatchEngine.validate's checks, same errors. */
  private validate(p: GenerateParams): void {
    validateSamplingParams(p);
    if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) throw new SamplingParamsError('maxTokens', `must be a positive integer, got ${p.maxTokens}`);
    const top = p.topLogprobs ?? 0;
    if (!Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS) throw new SamplingParamsError('topLogprobs', `must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${top}`);
    const chars = FakeBackend.promptText(p).length;
    const context = this.opts.contextChars ?? 4000;
    if (chars > context) throw new ContextLengthError(chars, context);
  }

  private tokensFor(p: GenerateParams): string[] {
    const promptText = FakeBackend.promptText(p);
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
    this.validate(p);
    const planned = this.tokensFor(p);
    const stop = new StopMatcher(p.stop ?? []);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const tokens: TokenEvent[] = [];
    let text = '';
    let finishReason: GenerateResult['finishReason'] | null = null;
    try {
      for (let i = 0; finishReason === null; i++) {
        if (p.signal?.aborted) {
          finishReason = 'cancelled';
          break;
        }
        await new Promise((r) => (this.opts.tokenDelayMs ? setTimeout(r, this.opts.tokenDelayMs) : setImmediate(r)));
        if (p.signal?.aborted) {
          finishReason = 'cancelled';
          break;
        }
        this.steps++;
        const piece = planned[i]!;
        // as BatchEngine.step: the token that ends the row releases what the matcher held back
        let released = stop.push(piece);
        if (stop.stopped) finishReason = 'stop';
        else if (i + 1 >= planned.length || i + 1 >= p.maxTokens) {
          released += stop.flush();
          finishReason = i + 1 >= planned.length ? 'stop' : 'length';
        }
        const ev: TokenEvent = {
          tokenId: i,
          text: released,
          logprob: -0.1 * (i + 1),
          topLogprobs: p.topLogprobs ? [{ text: piece, logprob: -0.1 * (i + 1) }, { text: ' other', logprob: -3 }].slice(0, p.topLogprobs) : undefined,
        };
        tokens.push(ev);
        text += released;
        onToken?.(ev);
        const fault = i === 0 ? this.opts.faultAfterFirstToken?.(p) : null;
        if (fault) throw fault;
      }
    } finally {
      this.active--;
    }
    this.generated++;
    return { text, finishReason: finishReason!, promptTokens: 7, completionTokens: tokens.length, tokens };
  }

  stats() {
    return { activeRows: this.active, waiting: 0, lastBatchSize: this.active, steps: this.steps };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
