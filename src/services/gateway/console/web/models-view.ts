// The console's Models view: what /v1/models serves (scope chat), and for an admin the
// current deployment — production, canary and its traffic share, shadow — with the
// lineage of each, and every policy version with its status and parent (the history).
// Where the orchestrator's admin API is served, each version's lineage can be shown and a
// production or retired version pinned (POST /v1/admin/loop/pin), after a confirmation.
import { adminGetter, adminPost, confirmThen, type OperatorDeps } from './admin-api.js';
import { $, apiError, h } from './dom.js';
import { showModelLineage } from './loop-view.js';

interface ModelVersion {
  id: string;
  parentId: string | null;
  status: string;
  trainingRunId: string | null;
  createdAt: string;
}

interface Deployment {
  id: string;
  productionModelId: string;
  canaryModelId: string | null;
  canaryWeight: number;
  shadowModelId: string | null;
  reason: string;
  createdAt: string;
}

const when = (iso: string) => `${iso.replace('T', ' ').slice(0, 16)} UTC`;

/** id ← parent ← … as far as the registered versions go (a cycle cannot be registered; the bound is a guard). */
function lineage(id: string, byId: Map<string, ModelVersion>): string[] {
  const chain = [id];
  for (let v = byId.get(id); v?.parentId && chain.length < 50; v = byId.get(v.parentId)) chain.push(v.parentId);
  return chain;
}

function chainOf(ids: string[]): HTMLElement {
  const el = h('span', { class: 'lineage' });
  ids.forEach((id, i) => el.append(...(i ? [' ← '] : []), h('code', {}, id)));
  return el;
}

export function initModelsView(deps: OperatorDeps) {
  const adminGet = adminGetter(deps);
  const post = adminPost(deps);

  /** Pinning is the orchestrator's: offered only where its admin API answers. */
  async function loopApiServed(): Promise<boolean> {
    const res = await fetch('/v1/admin/loop/iterations?limit=1', { headers: deps.authHeaders() });
    return res.ok;
  }

  function pinButton(id: string): HTMLButtonElement {
    const b = h('button', { type: 'button', 'data-action': 'pin' }, 'Pin');
    b.setAttribute('aria-label', `Pin ${id}`);
    b.addEventListener('click', () =>
      confirmThen(`Pin ${id}: deploy it as production, serving all traffic?`, (reason) => post('/v1/admin/loop/pin', { modelId: id, reason: reason || 'pinned by an operator' }), 'pinned by an operator', () => void loadDeployment()),
    );
    return b;
  }

  async function loadServed(): Promise<void> {
    const list = $('model-list');
    list.textContent = 'Loading…';
    const res = await fetch('/v1/models', { headers: deps.authHeaders() });
    if (!res.ok) {
      list.textContent = `Could not list models: ${(await apiError(res)).message}`;
      return;
    }
    const body = (await res.json()) as { data: { id: string; owned_by?: string; created?: number }[] };
    list.textContent = '';
    for (const m of body.data) {
      const created = m.created ? new Date(m.created * 1000).toISOString().replace('T', ' ').slice(0, 16) : '';
      list.append(h('li', {}, h('code', {}, m.id), ` ${m.owned_by ?? ''} ${created}`));
    }
  }

  const lineagePanel = () => $('version-lineage');

  function lineageButton(id: string): HTMLButtonElement {
    const b = h('button', { type: 'button', 'data-action': 'lineage', 'aria-label': `Lineage of ${id}`, 'aria-controls': 'version-lineage' }, 'Lineage');
    b.addEventListener('click', () => {
      lineagePanel().hidden = false;
      void showModelLineage(adminGet, id, $('version-lineage-body'));
    });
    return b;
  }

  async function loadDeployment(): Promise<void> {
    const where = $('deployment');
    where.textContent = 'Loading…';
    const res = await adminGet('/v1/admin/deployment-overview', where, () => void loadDeployment());
    if (!res) return;
    const { deployment, policies } = (await res.json()) as { deployment: Deployment | null; policies: ModelVersion[] };
    const canPin = await loopApiServed();
    const byId = new Map(policies.map((p) => [p.id, p]));
    where.textContent = '';
    if (deployment) {
      const share = Math.round(deployment.canaryWeight * 1000) / 10;
      const row = (label: string, id: string | null, extra = '') =>
        h('div', { class: 'dep-row' }, h('dt', {}, label), h('dd', {}, ...(id ? [chainOf(lineage(id, byId)), extra] : ['none'])));
      where.append(
        h(
          'dl',
          { class: 'deployment', 'data-deployment': deployment.id },
          row('Production', deployment.productionModelId, deployment.canaryModelId ? ` · ${Math.round((100 - share) * 10) / 10}% of traffic` : ' · all traffic'),
          row('Canary', deployment.canaryModelId, deployment.canaryModelId ? ` · ${share}% of traffic` : ''),
          row('Shadow', deployment.shadowModelId, deployment.shadowModelId ? ' · sees a copy of traffic, answers no one' : ''),
          h('div', { class: 'dep-row' }, h('dt', {}, 'Since'), h('dd', {}, `${when(deployment.createdAt)} — ${deployment.reason}`)),
        ),
      );
    } else {
      where.append(h('p', {}, 'No deployment is recorded yet.'));
    }
    const columns = ['Version', 'Status', 'Parent', 'Training run', 'Registered', ...(canPin ? ['Action'] : [])];
    const head = h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)));
    const rows = policies.map((p) =>
      h(
        'tr',
        { 'data-version': p.id },
        h('th', { scope: 'row' }, h('code', {}, p.id)),
        h('td', { 'data-label': 'Status' }, h('span', { class: `status ${p.status}` }, p.status)),
        h('td', { 'data-label': 'Parent' }, p.parentId ? h('code', {}, p.parentId) : '—'),
        h('td', { 'data-label': 'Training run' }, p.trainingRunId ? h('code', {}, p.trainingRunId) : '—'),
        h('td', { 'data-label': 'Registered' }, when(p.createdAt)),
        ...(canPin ? [h('td', { 'data-label': 'Action' }, lineageButton(p.id), ...(p.status === 'production' || p.status === 'retired' ? [' ', pinButton(p.id)] : []))] : []),
      ),
    );
    where.append(
      h('div', { class: 'table-wrap' }, h('table', { class: 'rules versions' }, h('caption', {}, 'Policy versions, newest first'), h('thead', {}, head), h('tbody', {}, ...rows))),
      h('section', { id: 'version-lineage', 'aria-labelledby': 'version-lineage-title', hidden: true }, h('h3', { id: 'version-lineage-title' }, 'Lineage'), h('div', { id: 'version-lineage-body', 'aria-live': 'polite' })),
    );
  }

  return {
    loadModels(): void {
      void loadServed();
      void loadDeployment();
    },
  };
}
