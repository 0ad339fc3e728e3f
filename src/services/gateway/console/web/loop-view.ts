// The console's Loop view (scope admin): the orchestrator's iterations, each with its
// state and how long it spent in every state, and the admin actions — pause / resume,
// trigger, approve or reject a gate waiting for review, roll back, and the lineage of an
// iteration's candidate — each behind a confirmation dialog. It reads the orchestrator's
// admin API under /v1/admin/loop (docs/orchestrator.md); a gateway without it says so.
import { adminGetter, adminPost, confirmThen, type AdminGet, type OperatorDeps } from './admin-api.js';
import { $, h } from './dom.js';

interface StateChange {
  state: string;
  at: string;
  detail?: string;
}

interface Iteration {
  id: string;
  state: string;
  stateHistory: StateChange[];
  trigger: string;
  steps: Record<string, { jobId?: string; outputs?: Record<string, unknown>; finishedAt?: string } | undefined>;
  candidateModelId: string | null;
  rewardModelId: string | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

const TERMINAL = new Set(['promoted', 'rolled_back', 'rejected', 'failed']);

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round((m / 60) * 10) / 10} h`;
}

/** Each state with the time spent in it: until the next change, or until now for the current one. */
function timings(it: Iteration, now: number): HTMLElement {
  const list = h('ol', { class: 'timeline' });
  it.stateHistory.forEach((c, i) => {
    const next = it.stateHistory[i + 1];
    const end = next ? Date.parse(next.at) : TERMINAL.has(c.state) ? null : now;
    const spent = end === null ? '' : ` · ${duration(end - Date.parse(c.at))}${next ? '' : ' so far'}`;
    list.append(h('li', {}, h('span', { class: `state ${c.state}` }, c.state), ` ${c.at.replace('T', ' ').slice(11, 19)}${spent}`, ...(c.detail ? [h('span', { class: 'meta' }, ` — ${c.detail}`)] : [])));
  });
  return list;
}

/** GET /v1/admin/loop/lineage/models/:id (src/services/orchestrator/lineage.ts) */
interface ModelLineage {
  model: { id: string; status: string };
  ancestors: string[];
  iteration: string | null;
  chain: Record<string, unknown>;
}

const LINEAGE_STEPS: [string, string][] = [
  ['feedbackWindow', 'Feedback window'], ['snapshot', 'Snapshot'], ['rewardModel', 'Reward model'], ['ppoRun', 'PPO run'],
  ['checkpointChosen', 'Checkpoint chosen'], ['gate', 'Gate'], ['canary', 'Canary'], ['outcome', 'Outcome'],
];

/** The lineage of a version: its ancestors, then each step of the iteration that made it (those it went through). */
function lineageList(l: ModelLineage): HTMLElement {
  const rows: HTMLElement[] = [h('div', { class: 'dep-row' }, h('dt', {}, 'Version'), h('dd', {}, h('code', {}, l.model.id), ` ${l.model.status}`, ...l.ancestors.flatMap((a) => [' ← ', h('code', {}, a)])))];
  rows.push(h('div', { class: 'dep-row' }, h('dt', {}, 'Iteration'), h('dd', {}, l.iteration ? h('code', {}, l.iteration) : 'none: not made by the loop')));
  for (const [key, label] of LINEAGE_STEPS) {
    const v = l.chain[key];
    if (v === null || v === undefined) continue;
    rows.push(h('div', { class: 'dep-row' }, h('dt', {}, label), h('dd', {}, typeof v === 'string' ? v : h('code', {}, JSON.stringify(v)))));
  }
  return h('dl', { class: 'deployment lineage-list' }, ...rows);
}

export async function showModelLineage(adminGet: AdminGet, modelId: string, into: HTMLElement): Promise<void> {
  into.textContent = 'Loading the lineage…';
  const res = await adminGet(`/v1/admin/loop/lineage/models/${encodeURIComponent(modelId)}`, into, () => void showModelLineage(adminGet, modelId, into));
  if (!res) return;
  into.textContent = '';
  into.append(lineageList((await res.json()) as ModelLineage));
}

const waitsForReview = (it: Iteration) => it.state === 'gate' && it.steps.gate?.outputs?.verdict === 'needs_review' && it.steps.gate.outputs.review === undefined;

export function initLoopView(deps: OperatorDeps) {
  const adminGet = adminGetter(deps);
  const confirmAction = (question: string, run: (reason: string) => Promise<Response>, reason: string | null = null) =>
    confirmThen(question, run, reason, () => void loadIterations());
  const post = adminPost(deps);

  function actionButton(label: string, action: string, onClick: () => void): HTMLButtonElement {
    const b = h('button', { type: 'button', 'data-action': action }, label);
    b.addEventListener('click', onClick);
    return b;
  }

  const showLineage = (modelId: string, into: HTMLElement) => showModelLineage(adminGet, modelId, into);

  function iterationCard(it: Iteration, now: number): HTMLElement {
    const base = `/v1/admin/loop/iterations/${encodeURIComponent(it.id)}`;
    const actions = h('div', { class: 'actions start' });
    if (waitsForReview(it)) {
      actions.append(
        actionButton('Approve', 'approve', () => confirmAction(`Approve the gate's needs_review for ${it.candidateModelId ?? it.id}? Its candidate goes to the canary.`, () => post(`${base}/approve`, { by: 'console' }))),
        actionButton('Reject', 'reject', () => confirmAction(`Reject ${it.candidateModelId ?? it.id}? The iteration ends rejected.`, () => post(`${base}/reject`, { by: 'console' }))),
      );
    }
    if (it.state === 'canary' || it.state === 'promoted') {
      actions.append(actionButton('Roll back', 'rollback', () => confirmAction(`Roll back iteration ${it.id}?`, (reason) => post(`${base}/rollback`, { reason: reason || 'forced by an operator' }), 'forced by an operator')));
    }
    const lineage = h('div', { class: 'lineage-panel' });
    if (it.candidateModelId) {
      const candidate = it.candidateModelId;
      actions.append(actionButton('Lineage', 'lineage', () => void showLineage(candidate, lineage)));
    }
    const gate = it.steps.gate?.outputs;
    return h(
      'article',
      { class: 'decision iteration', 'data-iteration': it.id, 'data-state': it.state },
      h('h3', {}, `Iteration `, h('code', {}, it.id), ' ', h('span', { class: `state ${it.state}` }, it.state)),
      h('p', { class: 'meta' }, `${it.trigger} trigger · started ${it.createdAt.replace('T', ' ').slice(0, 16)} UTC`, it.candidateModelId ? ` · candidate ${it.candidateModelId}` : '', gate?.verdict ? ` · gate ${String(gate.verdict)}${gate.review ? ` (${String(gate.review)})` : ''}` : ''),
      ...(it.error ? [h('p', { class: 'error' }, it.error)] : []),
      timings(it, now),
      actions,
      lineage,
    );
  }

  async function loadIterations(): Promise<void> {
    const list = $('loop-list');
    list.textContent = 'Loading…';
    const res = await fetch('/v1/admin/loop/iterations?limit=20', { headers: deps.authHeaders() });
    // no loop API, no loop buttons (Refresh stays: a newer gateway behind the same URL may have it)
    for (const id of ['loop-pause', 'loop-resume', 'loop-trigger']) $(id).hidden = res.status === 404;
    if (res.status === 404) {
      list.textContent = '';
      list.append(h('p', { class: 'refused' }, 'This gateway serves no loop admin API (/v1/admin/loop): the orchestrator\'s admin API is not part of this build.'));
      return;
    }
    const ok = res.ok ? res : await adminGet('/v1/admin/loop/iterations?limit=20', list, () => void loadIterations());
    if (!ok) return;
    const { data } = (await ok.json()) as { data: Iteration[] };
    list.textContent = '';
    if (!data.length) list.append(h('p', {}, 'No iteration yet.'));
    const now = Date.now();
    for (const it of data) list.append(iterationCard(it, now));
  }

  $('loop-pause').addEventListener('click', () => confirmAction('Pause the loop? No trigger starts an iteration, and the running one stops after its current job.', () => post('/v1/admin/loop/pause')));
  $('loop-resume').addEventListener('click', () => confirmAction('Resume the loop?', () => post('/v1/admin/loop/resume')));
  $('loop-trigger').addEventListener('click', () => confirmAction('Start an iteration now?', () => post('/v1/admin/loop/iterations')));
  $('loop-refresh').addEventListener('click', () => void loadIterations());
  return { loadIterations };
}
