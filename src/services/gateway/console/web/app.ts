// The web console's chat (served by the gateway at /console): a conversation with
// streaming answers, thumbs / 1–5 rating / edit on every answer, and compare mode —
// two answers side by side (production vs canary when both are deployed, else two
// samples), voted A, B or tie. Everything goes through the public API with the same
// keys and scopes as any client; feedback carries a client event id so a double click
// or a retry after a network failure is one event (the gateway deduplicates by it).
//
// Plain TypeScript and the DOM, no framework: a few small modules (this one, the
// operator views in models-view.ts, gate-view.ts and loop-view.ts, the DOM helpers
// in dom.ts)
// compiled by the project's own tsc (tsconfig.console.json), loaded as ES modules.

import { $, apiError, h, type ApiError } from './dom.js';
import { initConfirmDialog } from './admin-api.js';
import { initGateView } from './gate-view.js';
import { initLoopView } from './loop-view.js';
import { initModelsView } from './models-view.js';

type Role = 'user' | 'assistant';
interface Message {
  role: Role;
  content: string;
}

const KEY_STORAGE = 'outerloop.apiKey';
const MAX_FEEDBACK_TRIES = 6;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- API key

let apiKey: string | null = sessionStorage.getItem(KEY_STORAGE);
let keyWaiters: ((ok: boolean) => void)[] = [];

function authHeaders(): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

function renderKeyState(): void {
  $('key-state').textContent = apiKey ? 'API key set' : 'No API key';
  $<HTMLButtonElement>('forget-key').hidden = !apiKey;
}

/** Opens the key dialog with a reason; resolves once a key is saved (true) or the user cancels (false). */
function askForKey(reason: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('key-dialog');
  $('key-reason').textContent = reason;
  const input = $<HTMLInputElement>('key-input');
  input.value = '';
  if (!dialog.open) dialog.showModal();
  input.focus();
  return new Promise((resolve) => keyWaiters.push(resolve));
}

function settleKeyWaiters(ok: boolean): void {
  const waiters = keyWaiters;
  keyWaiters = [];
  for (const w of waiters) w(ok);
}

/**
 * POSTs JSON; a 401/403 asks for a key and tries again, a 429 waits as the gateway
 * says (Retry-After) and tries again, saying so in `onWait`. Other errors are returned.
 */
async function post(path: string, body: unknown, onWait: (text: string | null) => void): Promise<Response | ApiError> {
  for (;;) {
    let res: Response;
    res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: JSON.stringify(body) });
    if (res.ok) {
      onWait(null);
      return res;
    }
    const err = await apiError(res);
    if (err.status === 401 || (err.status === 403 && !apiKey)) {
      const reason = apiKey ? `The API key was refused: ${err.message}` : `This gateway needs an API key: ${err.message}`;
      if (!(await askForKey(reason))) return err;
      continue;
    }
    if (err.status === 429) {
      const waitS = err.retryAfterS ?? 2;
      onWait(`The gateway is at capacity; trying again in ${waitS} s…`);
      await sleep(waitS * 1000);
      continue;
    }
    return err;
  }
}

// ---------------------------------------------------------------- feedback

/** One event id per (completion, action, value): clicking the same thing twice sends the same event. */
const feedbackIds = new Map<string, string>();

function eventIdFor(action: string): string {
  let id = feedbackIds.get(action);
  if (!id) {
    id = `console-${crypto.randomUUID()}`;
    feedbackIds.set(action, id);
  }
  return id;
}

/**
 * Sends one feedback event, retrying with the SAME event id on network errors, 5xx and
 * 429 (the gateway deduplicates by id, so a retry never counts twice). A failure that
 * retrying cannot fix is shown with a button to try again — never dropped silently.
 */
async function sendFeedback(action: string, body: Record<string, unknown>, status: HTMLElement): Promise<void> {
  const event = { ...body, event_id: eventIdFor(action) };
  status.textContent = 'Sending…';
  status.dataset.state = 'pending';
  for (let attempt = 1; attempt <= MAX_FEEDBACK_TRIES; attempt++) {
    try {
      const res = await post('/v1/feedback', event, (w) => (status.textContent = w ?? 'Sending…'));
      if (res instanceof Response) {
        status.textContent = 'Thanks — feedback recorded';
        status.dataset.state = 'sent';
        return;
      }
      if (res.status < 500) {
        showFeedbackFailure(status, `Not recorded: ${res.message}`, action, body);
        return;
      }
    } catch {
      // network error: retried below with the same event id
    }
    status.textContent = `Could not reach the gateway; retrying (${attempt}/${MAX_FEEDBACK_TRIES})…`;
    await sleep(Math.min(8000, 250 * 2 ** attempt));
  }
  showFeedbackFailure(status, 'Not recorded: the gateway did not answer.', action, body);
}

function showFeedbackFailure(status: HTMLElement, text: string, action: string, body: Record<string, unknown>): void {
  status.dataset.state = 'failed';
  status.textContent = text + ' ';
  const retry = h('button', { type: 'button', class: 'link' }, 'Try again');
  retry.addEventListener('click', () => void sendFeedback(action, body, status));
  status.append(retry);
}

/** Thumbs, rating and edit under one answer. */
function feedbackBar(completionId: string, answerText: () => string): HTMLElement {
  const status = h('p', { class: 'feedback-status', role: 'status' });
  const bar = h('div', { class: 'feedback', role: 'group', 'aria-label': 'Feedback on this answer' });

  const thumb = (value: 'up' | 'down', label: string, glyph: string) => {
    const b = h('button', { type: 'button', class: 'thumb', 'aria-label': label, title: label, 'aria-pressed': 'false', 'data-feedback': `thumbs-${value}` }, glyph);
    b.addEventListener('click', () => {
      for (const other of bar.querySelectorAll('.thumb')) other.setAttribute('aria-pressed', String(other === b));
      void sendFeedback(`${completionId}:thumbs:${value}`, { completion_id: completionId, type: 'thumbs', value }, status);
    });
    return b;
  };

  const rating = h('span', { class: 'rating', role: 'group', 'aria-label': 'Rate this answer from 1 to 5' });
  for (let v = 1; v <= 5; v++) {
    const b = h('button', { type: 'button', 'aria-label': `Rate ${v} of 5`, 'aria-pressed': 'false', 'data-feedback': `rating-${v}` }, String(v));
    b.addEventListener('click', () => {
      for (const other of rating.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === b));
      void sendFeedback(`${completionId}:rating:${v}`, { completion_id: completionId, type: 'rating', value: v }, status);
    });
    rating.append(b);
  }

  const editToggle = h('button', { type: 'button', 'aria-expanded': 'false', 'data-feedback': 'edit' }, 'Edit');
  const editArea = h('textarea', { rows: '3', 'aria-label': 'A better answer' });
  const editSend = h('button', { type: 'submit' }, 'Send correction');
  const editForm = h('form', { class: 'edit', hidden: true }, editArea, editSend);
  editToggle.addEventListener('click', () => {
    editForm.hidden = !editForm.hidden;
    editToggle.setAttribute('aria-expanded', String(!editForm.hidden));
    if (!editForm.hidden) {
      if (!editArea.value) editArea.value = answerText();
      editArea.focus();
    }
  });
  editForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = editArea.value.trim();
    if (!text) return;
    // the same correction submitted twice is one event; a different text is a new one
    void sendFeedback(`${completionId}:edit:${text}`, { completion_id: completionId, type: 'edit', edited_response: text }, status);
  });

  bar.append(thumb('up', 'Thumbs up', 'Good'), thumb('down', 'Thumbs down', 'Bad'), rating, editToggle);
  return h('div', {}, bar, editForm, status);
}

// ---------------------------------------------------------------- chat

const conversation: Message[] = [];
let conversationId = `conv-${crypto.randomUUID()}`;
let busy = false;

interface AnswerView {
  card: HTMLElement;
  text: HTMLElement;
  meta: HTMLElement;
  chunks: number;
  completionId: string | null;
}

function answerCard(label: string | null): AnswerView {
  const text = h('div', { class: 'text' });
  const meta = h('p', { class: 'meta' });
  const card = h('article', { class: 'message assistant', 'aria-busy': 'true' }, ...(label ? [h('h3', {}, label)] : []), text, meta);
  return { card, text, meta, chunks: 0, completionId: null };
}

interface StreamOutcome {
  complete: boolean;
  error: string | null;
  /** compare mode: 'versions' (production vs canary) or 'samples' (two samples of one version) */
  comparisonMode?: string | null;
}

/** Reads the SSE stream of a chat completion into the answer views (one per choice index). */
async function readStream(res: Response, views: AnswerView[], sentAt: number): Promise<StreamOutcome> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let comparisonMode: string | null = null;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      return { complete: false, error: 'the connection dropped' };
    }
    if (chunk.done) return { complete: false, error: 'the stream ended early' };
    buffer += decoder.decode(chunk.value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return { complete: true, error: null, comparisonMode };
        const body = JSON.parse(data) as {
          error?: { message: string };
          outerloop?: { comparison?: { mode?: string } | null };
          model?: string;
          choices?: { index: number; delta?: { content?: string }; completion_id?: string; model_version?: string }[];
        };
        if (body.error) return { complete: false, error: body.error.message };
        comparisonMode = body.outerloop?.comparison?.mode ?? comparisonMode;
        for (const c of body.choices ?? []) {
          const view = views[c.index];
          if (!view) continue;
          if (c.completion_id) view.completionId = c.completion_id;
          if (c.model_version) view.meta.textContent = `model ${c.model_version}`;
          if (c.delta?.content) {
            view.text.textContent += c.delta.content;
            view.chunks++;
            view.card.dataset.chunks = String(view.chunks);
            // time from Send to the first visible token, for the operator's eye and the browser test
            if (view.chunks === 1) view.card.dataset.firstTokenMs = String(Math.round(performance.now() - sentAt));
          }
        }
      }
    }
  }
}

function setStatus(text: string | null): void {
  $('status').textContent = text ?? '';
}

/** One turn: streams one answer, or two in compare mode, then offers feedback. */
async function runTurn(compare: boolean): Promise<void> {
  const log = $('log');
  const turn = h('div', { class: compare ? 'turn compare' : 'turn' });
  const views = compare ? [answerCard('A'), answerCard('B')] : [answerCard(null)];
  turn.append(...views.map((v) => v.card));
  log.append(turn);
  const request = {
    model: 'outerloop',
    messages: conversation.slice(),
    stream: true,
    ...(compare ? { n: 2 } : {}),
    outerloop: { conversation_id: conversationId, ...(compare ? { compare: 'versions' } : {}) },
  };
  let outcome: StreamOutcome;
  const sentAt = performance.now();
  try {
    const res = await post('/v1/chat/completions', request, setStatus);
    outcome = res instanceof Response ? await readStream(res, views, sentAt) : { complete: false, error: res.message };
  } catch {
    outcome = { complete: false, error: 'the gateway could not be reached' };
  }
  for (const v of views) v.card.setAttribute('aria-busy', 'false');
  if (!outcome.complete) {
    for (const v of views) v.card.classList.add('interrupted');
    const retry = h('button', { type: 'button' }, 'Retry');
    const note = h('p', { class: 'error', role: 'alert' }, `Answer interrupted: ${outcome.error}. `, retry);
    turn.append(note);
    retry.addEventListener('click', () => {
      turn.remove();
      void guarded(() => runTurn(compare));
    });
    return;
  }
  if (!compare) {
    const v = views[0]!;
    conversation.push({ role: 'assistant', content: v.text.textContent ?? '' });
    if (v.completionId) v.card.append(feedbackBar(v.completionId, () => v.text.textContent ?? ''));
    return;
  }
  const [a, b] = views as [AnswerView, AnswerView];
  for (const v of views) if (v.completionId) v.card.append(feedbackBar(v.completionId, () => v.text.textContent ?? ''));
  turn.append(voteBar(a, b, outcome.comparisonMode ?? null));
  // the conversation continues with A until the user votes for B
  conversation.push({ role: 'assistant', content: a.text.textContent ?? '' });
}

/** A / tie / B for a side-by-side turn: one pairwise event with both completions. */
function voteBar(a: AnswerView, b: AnswerView, mode: string | null): HTMLElement {
  const status = h('p', { class: 'feedback-status', role: 'status' });
  const group = h('div', { class: 'vote', role: 'group', 'aria-label': 'Which answer is better?' });
  const choices: [string, 'this' | 'other' | 'tie', string][] = [
    ['A is better', 'this', 'vote-a'],
    ['Tie', 'tie', 'vote-tie'],
    ['B is better', 'other', 'vote-b'],
  ];
  for (const [label, value, testId] of choices) {
    const button = h('button', { type: 'button', 'aria-pressed': 'false', 'data-feedback': testId }, label);
    button.addEventListener('click', () => {
      for (const other of group.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
      if (value === 'other') conversation[conversation.length - 1] = { role: 'assistant', content: b.text.textContent ?? '' };
      void sendFeedback(
        `${a.completionId}:pairwise:${value}`,
        { completion_id: a.completionId, type: 'pairwise', value, other_completion_id: b.completionId },
        status,
      );
    });
    group.append(button);
  }
  const what = mode === 'versions' ? 'Two model versions, in random order.' : 'Two samples of the same model version.';
  return h('div', { class: 'vote-bar' }, h('p', {}, `Which answer is better? `, h('span', { class: 'meta' }, what)), group, status);
}

async function guarded(work: () => Promise<void>): Promise<void> {
  if (busy) return;
  busy = true;
  $<HTMLButtonElement>('send').disabled = true;
  try {
    await work();
  } finally {
    busy = false;
    $<HTMLButtonElement>('send').disabled = false;
    setStatus(null);
  }
}

function submitPrompt(): void {
  const input = $<HTMLTextAreaElement>('prompt');
  const text = input.value.trim();
  if (!text || busy) return;
  input.value = '';
  conversation.push({ role: 'user', content: text });
  $('log').append(h('article', { class: 'message user' }, h('div', { class: 'text' }, text)));
  void guarded(() => runTurn($<HTMLInputElement>('compare').checked));
}

// ---------------------------------------------------------------- wiring

const VIEWS = ['chat', 'models', 'gate', 'loop'] as const;
type View = (typeof VIEWS)[number];
let gateView: ReturnType<typeof initGateView>;
let modelsView: ReturnType<typeof initModelsView>;
let loopView: ReturnType<typeof initLoopView>;

function showView(name: View): void {
  for (const v of VIEWS) {
    $(`view-${v}`).hidden = v !== name;
    $(`tab-${v}`).setAttribute('aria-current', String(v === name));
  }
  if (name === 'models') modelsView.loadModels();
  if (name === 'gate') void gateView.loadGateDecisions();
  if (name === 'loop') void loopView.loadIterations();
}

function init(): void {
  renderKeyState();
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    submitPrompt();
  });
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submitPrompt();
    }
  });
  $('new-chat').addEventListener('click', () => {
    conversation.length = 0;
    conversationId = `conv-${crypto.randomUUID()}`;
    $('log').textContent = '';
    $('prompt').focus();
  });
  initConfirmDialog();
  gateView = initGateView({ authHeaders, askForKey });
  modelsView = initModelsView({ authHeaders, askForKey });
  loopView = initLoopView({ authHeaders, askForKey });
  for (const v of VIEWS) $(`tab-${v}`).addEventListener('click', () => showView(v));
  $('set-key').addEventListener('click', () => void askForKey('Enter an API key: scopes chat and feedback for the chat, admin for the gate decisions.'));
  $('forget-key').addEventListener('click', () => {
    apiKey = null;
    sessionStorage.removeItem(KEY_STORAGE);
    renderKeyState();
  });
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $<HTMLInputElement>('key-input').value.trim();
    if (!value) return;
    apiKey = value;
    sessionStorage.setItem(KEY_STORAGE, value);
    renderKeyState();
    $<HTMLDialogElement>('key-dialog').close();
    settleKeyWaiters(true);
  });
  $('key-cancel').addEventListener('click', () => $<HTMLDialogElement>('key-dialog').close());
  // closed without saving (Cancel, Escape): whoever waited for a key goes without one
  $('key-dialog').addEventListener('close', () => settleKeyWaiters(false));
  $('prompt').focus();
  document.body.dataset.ready = 'true';
}

init();
