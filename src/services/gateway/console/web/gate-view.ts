// The console's gate view (scope admin): the gate decisions, each policy's verdict
// with every rule's value against its threshold — the configured gate beside the naive
// one — and the evaluation's report and charts. They read the admin API with the key
// the chat uses; a key without the admin scope gets a message saying so, not an empty page.
import { adminGetter, type OperatorDeps } from './admin-api.js';
import { $, h } from './dom.js';

interface GateRule {
  rule: string;
  metric?: string;
  statistic?: 'value' | 'lower' | 'upper';
  comparator?: string;
  value: number | boolean | null;
  threshold: number | boolean | null;
  interval?: { lower: number; upper: number; level: number } | null;
  verdict: string;
  detail?: string;
}

interface GateDecision {
  id: string;
  loopIterationId: string | null;
  evaluationId: string | null;
  candidateModelId: string;
  policyName: string | null;
  verdict: 'pass' | 'fail' | 'needs_review';
  rules: GateRule[];
  missing: string[] | null;
  createdAt: string;
}

const NAIVE_POLICY = 'naive';
const VERDICT_TEXT: Record<string, string> = { pass: 'Pass', fail: 'Fail', needs_review: 'Needs review' };

/** Chart images are blob: URLs of SVG fetched with the key (an <img> cannot send one); freed on reload. */
let chartUrls: string[] = [];

function fmt(x: number | boolean | null | undefined): string {
  if (x === null || x === undefined) return '—';
  if (typeof x === 'boolean') return String(x);
  return Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, '');
}

function verdictBadge(verdict: string): HTMLElement {
  return h('span', { class: `verdict ${verdict}` }, VERDICT_TEXT[verdict] ?? verdict);
}

/** What a rule compares: "Δ lower CI bound >= 0" reads as the rule does. */
function thresholdText(r: GateRule): string {
  const stat = r.statistic === 'lower' ? 'lower bound ' : r.statistic === 'upper' ? 'upper bound ' : '';
  return r.comparator ? `${stat}${r.comparator} ${fmt(r.threshold)}` : fmt(r.threshold);
}

function rulesTable(d: GateDecision): HTMLElement {
  const head = h('tr', {}, ...['Rule', 'Metric', 'Value', 'Interval', 'Threshold', 'Result'].map((c) => h('th', { scope: 'col' }, c)));
  const rows = d.rules.map((r) =>
    h(
      'tr',
      { 'data-rule': r.rule },
      h('th', { scope: 'row' }, r.rule),
      // data-label: at phone width each row becomes a small card that names its cells
      h('td', { 'data-label': 'Metric' }, h('code', {}, r.metric ?? '—')),
      h('td', { class: 'num', 'data-label': 'Value' }, fmt(r.value)),
      h('td', { class: 'num', 'data-label': 'Interval' }, r.interval ? `[${fmt(r.interval.lower)}, ${fmt(r.interval.upper)}] ${Math.round(r.interval.level * 100)}%` : '—'),
      h('td', { class: 'num', 'data-label': 'Threshold' }, thresholdText(r)),
      h('td', { 'data-label': 'Result' }, verdictBadge(r.verdict), ...(r.detail ? [h('span', { class: 'meta' }, ` ${r.detail}`)] : [])),
    ),
  );
  const caption = h('caption', {}, `Gate “${d.policyName ?? 'unnamed'}”: `, verdictBadge(d.verdict));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'rules' }, caption, h('thead', {}, head), h('tbody', {}, ...rows)));
}

export function initGateView(deps: OperatorDeps) {
  const adminGet = adminGetter(deps);

  async function showReport(evaluationId: string, into: HTMLElement): Promise<void> {
    into.textContent = 'Loading the report…';
    const reload = () => void showReport(evaluationId, into);
    const base = `/v1/admin/evaluations/${encodeURIComponent(evaluationId)}`;
    const list = await adminGet(`${base}/charts`, into, reload);
    if (!list) return;
    const { charts } = (await list.json()) as { charts: string[] };
    const figures: HTMLElement[] = [];
    for (const name of charts) {
      const res = await adminGet(`${base}/charts/${encodeURIComponent(name)}.svg`, into, reload);
      if (!res) return;
      // the blob keeps the response's image/svg+xml type; an SVG shown by <img> runs no script
      const url = URL.createObjectURL(await res.blob());
      chartUrls.push(url);
      figures.push(h('figure', {}, h('img', { src: url, alt: `Chart: ${name.replace(/-/g, ' ')}`, 'data-chart': name }), h('figcaption', {}, name.replace(/-/g, ' '))));
    }
    const report = await adminGet(`${base}/report`, into, reload);
    if (!report) return;
    const markdown = await report.text();
    into.textContent = '';
    into.append(
      h('div', { class: 'charts' }, ...(figures.length ? figures : [h('p', { class: 'meta' }, 'This evaluation stored no charts.')])),
      h('details', {}, h('summary', {}, 'The full report (markdown)'), h('pre', { class: 'report' }, markdown)),
    );
  }

  function evaluationCard(decisions: GateDecision[]): HTMLElement {
    // the configured gate first, the naive one beside it
    const sorted = [...decisions].sort((a, b) => Number(a.policyName === NAIVE_POLICY) - Number(b.policyName === NAIVE_POLICY));
    const first = sorted[0]!;
    const evaluationId = first.evaluationId;
    const when = first.createdAt.replace('T', ' ').slice(0, 16);
    const title = h('h3', {}, `Candidate `, h('code', {}, first.candidateModelId));
    const verdicts = h('p', { class: 'verdicts' }, ...sorted.flatMap((d, i) => [...(i ? [' · '] : []), `${d.policyName ?? 'gate'}: `, verdictBadge(d.verdict)]));
    const meta = h('p', { class: 'meta' }, `${when} UTC`, evaluationId ? ` · evaluation ${evaluationId}` : '', first.loopIterationId ? ` · iteration ${first.loopIterationId}` : '');
    const missing = sorted.flatMap((d) => d.missing ?? []);
    const card = h(
      'article',
      { class: 'decision', 'data-evaluation': evaluationId ?? first.id },
      title,
      meta,
      verdicts,
      h('div', { class: 'gates' }, ...sorted.map(rulesTable)),
      ...(missing.length ? [h('p', { class: 'meta' }, `Missing metrics (they make a verdict “needs review”): ${[...new Set(missing)].join(', ')}`)] : []),
    );
    if (evaluationId) {
      const panel = h('div', { class: 'report-panel', hidden: true });
      const toggle = h('button', { type: 'button', 'aria-expanded': 'false', 'data-action': 'report' }, 'Show report and charts');
      toggle.addEventListener('click', () => {
        panel.hidden = !panel.hidden;
        toggle.setAttribute('aria-expanded', String(!panel.hidden));
        toggle.textContent = panel.hidden ? 'Show report and charts' : 'Hide report and charts';
        if (!panel.hidden && !panel.childElementCount) void showReport(evaluationId, panel);
      });
      card.append(h('div', { class: 'actions start' }, toggle), panel);
    }
    return card;
  }

  async function loadGateDecisions(): Promise<void> {
    const list = $('gate-list');
    for (const url of chartUrls) URL.revokeObjectURL(url);
    chartUrls = [];
    list.textContent = 'Loading…';
    const res = await adminGet('/v1/admin/gate-decisions?limit=50', list, () => void loadGateDecisions());
    if (!res) return;
    const { data } = (await res.json()) as { data: GateDecision[] };
    list.textContent = '';
    if (!data.length) {
      list.append(h('p', {}, 'No gate decisions yet: `outerloop eval` or the loop records one per evaluation.'));
      return;
    }
    // one card per evaluation: its decisions (one per policy) side by side
    const byEvaluation = new Map<string, GateDecision[]>();
    for (const d of data) {
      const key = d.evaluationId ?? d.id;
      byEvaluation.set(key, [...(byEvaluation.get(key) ?? []), d]);
    }
    for (const group of byEvaluation.values()) list.append(evaluationCard(group));
  }

  $('gate-refresh').addEventListener('click', () => void loadGateDecisions());
  return { loadGateDecisions };
}
