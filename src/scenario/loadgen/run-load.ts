// The load generator: simulated users chatting with a running gateway and giving
// feedback, at a target rate with bounded concurrency (one in-flight turn per user).
//
// Turn i is scheduled at start + i/rate and played by persona i mod users; its prompt
// and feedback come from an RNG seeded by (seed, i), so what is asked and what is
// answered back does not depend on timing — only the gateway's responses do. When the
// gateway is slower than the rate, turns start late (the rate is an upper bound: an
// open-loop generator without a concurrency bound would only pile up requests).

import { randomUUID } from 'node:crypto';
import { goldUtility } from '../gold-utility.js';
import { seededRng, fnv1a32, pickWeighted } from '../random.js';
import { KIND_MIX, sampleTrainingPrompt } from '../sft-corpus.js';
import { type BiasSpec, parseBiasSpec } from '../users/bias-spec.js';
import { type FeedbackOrigin, type SimulatedFeedback, decidePairwise, decideSingleFeedback } from '../users/feedback-model.js';
import { type FeedbackType, type Persona, makePopulation } from '../users/persona.js';
import { type FeedbackRequest, type GatewayApiShape, GatewayClient, GatewayHttpError, type RetryPolicy } from './api-client.js';
import { type LatencySummary, summarizeLatencies } from './latency.js';

export interface LoadOptions {
  baseUrl: string;
  /** simulated users = maximum concurrent turns */
  users: number;
  /** turns (chat requests) started per second, at most */
  rate: number;
  durationS: number;
  bias: BiasSpec | string;
  seed: number;
  apiKey?: string;
  api?: Partial<GatewayApiShape>;
  retry?: Partial<RetryPolicy>;
  /** replaces the population built from `users` and `bias` */
  personas?: Persona[];
  maxTokens?: number;
  temperature?: number;
  /** what a comparison turn compares (gateway `outerloop.compare`); default: two samples */
  compare?: 'samples' | 'versions';
  /** seconds between progress lines; 0 disables them */
  progressIntervalS?: number;
  log?: (line: string) => void;
  /** stop starting new turns (in-flight turns finish) */
  signal?: AbortSignal;
  /** prefix of feedback event ids; random per run unless given, so two runs never collide */
  runId?: string;
}

export interface LoadSummary {
  runId: string;
  intendedTurns: number;
  completedTurns: number;
  failedTurns: number;
  /** successful requests */
  requests: { chat: number; chatN2: number; feedback: number };
  feedbackByType: Record<FeedbackType, number>;
  feedbackByOrigin: Record<FeedbackOrigin, number>;
  /** every non-2xx response or failed attempt, retried or not, by status */
  errorsByStatus: Record<string, number>;
  /** operations that gave up, by their last status */
  failuresByStatus: Record<string, number>;
  httpAttempts: number;
  latencyMs: { chat: LatencySummary; feedback: LatencySummary };
  /** mean gold utility of every completion served (null when none) */
  meanGoldUtility: number | null;
  durationS: number;
  achievedTurnsPerS: number;
}

function validate(options: LoadOptions): void {
  const positive = (name: string, v: number, integer = false): void => {
    if (!(Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) throw new RangeError(`runLoad: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  };
  positive('users', options.users, true);
  positive('rate', options.rate);
  positive('durationS', options.durationS);
  if (!Number.isFinite(options.seed)) throw new RangeError(`runLoad: seed must be a finite number, got ${options.seed}`);
}

const emptyByType = (): Record<FeedbackType, number> => ({ thumbs: 0, rating: 0, pairwise: 0, edit: 0 });
const emptyByOrigin = (): Record<FeedbackOrigin, number> => ({ honest: 0, noise: 0, spam: 0, inverted: 0 });
const bump = (record: Record<string, number>, key: string | number): void => {
  record[String(key)] = (record[String(key)] ?? 0) + 1;
};

function toFeedbackRequest(feedback: SimulatedFeedback, completionId: string, otherCompletionId: string | undefined, eventId: string, user: string): FeedbackRequest {
  const request: FeedbackRequest = { completionId, type: feedback.type, value: feedback.value, eventId, user };
  if (feedback.type === 'pairwise') request.otherCompletionId = otherCompletionId;
  if (feedback.type === 'edit') request.editedResponse = feedback.editedResponse;
  return request;
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  validate(options);
  const bias = typeof options.bias === 'string' ? parseBiasSpec(options.bias) : options.bias;
  const personas = options.personas ?? makePopulation(options.users, bias);
  if (personas.length === 0) throw new RangeError('runLoad: personas must not be empty');
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const intendedTurns = Math.max(1, Math.round(options.rate * options.durationS));

  const summary: LoadSummary = {
    runId,
    intendedTurns,
    completedTurns: 0,
    failedTurns: 0,
    requests: { chat: 0, chatN2: 0, feedback: 0 },
    feedbackByType: emptyByType(),
    feedbackByOrigin: emptyByOrigin(),
    errorsByStatus: {},
    failuresByStatus: {},
    httpAttempts: 0,
    latencyMs: { chat: summarizeLatencies([]), feedback: summarizeLatencies([]) },
    meanGoldUtility: null,
    durationS: 0,
    achievedTurnsPerS: 0,
  };
  const chatLatencies: number[] = [];
  const feedbackLatencies: number[] = [];
  let goldSum = 0;
  let goldCount = 0;

  const client = new GatewayClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    api: options.api,
    retry: options.retry,
    jitter: seededRng(fnv1a32(`jitter:${options.seed}`)),
    onAttempt: (_op, status) => {
      summary.httpAttempts++;
      if (typeof status !== 'number' || status < 200 || status >= 300) bump(summary.errorsByStatus, status);
    },
  });

  const failed = (err: unknown): void => {
    summary.failedTurns++;
    // only HTTP outcomes are expected here; anything else is a bug and must surface
    if (!(err instanceof GatewayHttpError)) throw err;
    bump(summary.failuresByStatus, err.status);
  };

  async function playTurn(turn: number): Promise<void> {
    const persona = personas[turn % personas.length]!;
    const rng = seededRng(fnv1a32(`turn:${options.seed}:${turn}`));
    const spec = sampleTrainingPrompt(rng, pickWeighted(rng, KIND_MIX));
    const compare = rng.next() < persona.comparisonRate;
    const chat = await client.chat({
      messages: [{ role: 'user', content: spec.text }],
      n: compare ? 2 : 1,
      user: persona.id,
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      compare: compare ? options.compare : undefined,
    });
    summary.requests.chat++;
    if (compare) summary.requests.chatN2++;
    chatLatencies.push(chat.latencyMs);
    for (const choice of chat.choices) {
      goldSum += goldUtility(spec, choice.content);
      goldCount++;
    }
    const [first, second] = chat.choices;
    let feedback: SimulatedFeedback | null = null;
    if (compare) feedback = decidePairwise(spec, first!.content, second!.content, persona, rng);
    else if (rng.next() < persona.feedbackRate) feedback = decideSingleFeedback(spec, first!.content, persona, rng);
    if (feedback) {
      const sent = await client.sendFeedback(toFeedbackRequest(feedback, first!.completionId, second?.completionId, `sim-${runId}-${turn}`, persona.id));
      summary.requests.feedback++;
      summary.feedbackByType[feedback.type]++;
      summary.feedbackByOrigin[feedback.origin]++;
      feedbackLatencies.push(sent.latencyMs);
    }
    summary.completedTurns++;
  }

  const started = performance.now();
  const elapsedS = (): number => (performance.now() - started) / 1000;
  const progressEveryMs = (options.progressIntervalS ?? 5) * 1000;
  const progress = progressEveryMs > 0
    ? setInterval(() => {
        const errors = Object.entries(summary.errorsByStatus).map(([s, n]) => `${s}:${n}`).join(' ') || 'none';
        const p50 = summarizeLatencies(chatLatencies).p50;
        log(`[loadgen ${runId}] ${elapsedS().toFixed(1)}s turns ${summary.completedTurns + summary.failedTurns}/${intendedTurns} ok ${summary.completedTurns} failed ${summary.failedTurns} feedback ${summary.requests.feedback} errors ${errors} chat p50 ${Number.isNaN(p50) ? '-' : `${p50}ms`}`);
      }, progressEveryMs)
    : null;

  let nextTurn = 0;
  async function worker(): Promise<void> {
    for (;;) {
      if (options.signal?.aborted) return;
      const turn = nextTurn++;
      if (turn >= intendedTurns) return;
      const dueMs = (turn / options.rate) * 1000 - (performance.now() - started);
      if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, dueMs));
      if (options.signal?.aborted) return;
      try {
        await playTurn(turn);
      } catch (err) {
        failed(err);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(options.users, intendedTurns) }, () => worker()));
  } finally {
    if (progress) clearInterval(progress);
  }
  summary.durationS = Math.round(elapsedS() * 1000) / 1000;
  summary.achievedTurnsPerS = summary.durationS > 0 ? Math.round(((summary.completedTurns + summary.failedTurns) / summary.durationS) * 100) / 100 : 0;
  summary.latencyMs = { chat: summarizeLatencies(chatLatencies), feedback: summarizeLatencies(feedbackLatencies) };
  summary.meanGoldUtility = goldCount === 0 ? null : Math.round((goldSum / goldCount) * 1e4) / 1e4;
  return summary;
}

/** The human-readable end-of-run report. */
export function formatLoadSummary(s: LoadSummary): string {
  const rec = (r: Record<string, number>): string => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  const lat = (l: LatencySummary): string => (l.count === 0 ? 'n/a' : `p50 ${l.p50} ms  p90 ${l.p90} ms  p99 ${l.p99} ms  max ${l.max} ms  (n=${l.count})`);
  return [
    `load run ${s.runId}: ${s.durationS}s, ${s.achievedTurnsPerS} turns/s`,
    `  turns            ${s.completedTurns + s.failedTurns}/${s.intendedTurns} (ok ${s.completedTurns}, failed ${s.failedTurns})`,
    `  requests         chat ${s.requests.chat} (n=2: ${s.requests.chatN2})  feedback ${s.requests.feedback}  http attempts ${s.httpAttempts}`,
    `  feedback/type    ${rec(s.feedbackByType)}`,
    `  feedback/origin  ${rec(s.feedbackByOrigin)}`,
    `  errors/status    ${rec(s.errorsByStatus)}`,
    `  gave up/status   ${rec(s.failuresByStatus)}`,
    `  chat latency     ${lat(s.latencyMs.chat)}`,
    `  feedback latency ${lat(s.latencyMs.feedback)}`,
    `  mean gold        ${s.meanGoldUtility ?? 'n/a'}`,
  ].join('\n');
}
