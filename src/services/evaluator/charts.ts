// The evaluation report's charts, rendered to SVG by code: a vega-lite spec per chart,
// compiled to vega and rendered headless (`renderer: 'none'` + toSVG, no canvas or
// browser needed). A well-kept charting library rather than hand-drawn SVG: axes,
// scales, bands and legends are its job.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { gaoGain, type OveroptimizationFit } from '../../evaluation/index.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** One point of the reward-vs-eval chart: a checkpoint (or the incumbent / the candidate) and one metric's estimate. */
export interface CheckpointMetricPoint {
  /** the x label, in order: "incumbent", "candidate", or "step 400" */
  checkpoint: string;
  order: number;
  metric: string;
  value: number;
  lower: number;
  upper: number;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Proxy reward and each eval metric per checkpoint, each with its CI band; one panel per metric (own y scale). */
export function rewardVsEvalSpec(points: readonly CheckpointMetricPoint[]): TopLevelSpec {
  const x = { field: 'checkpoint', type: 'ordinal', sort: { field: 'order' }, title: 'checkpoint' } as const;
  return {
    $schema: SCHEMA,
    title: 'Proxy reward and eval metrics per checkpoint (95% bootstrap CI)',
    data: { values: points.map((p) => ({ ...p })) },
    facet: { row: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 360,
      height: 110,
      layer: [
        { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lower', type: 'quantitative', title: null, scale: { zero: false } }, y2: { field: 'upper' } } },
        { mark: { type: 'errorband', opacity: 0.2 }, encoding: { x, y: { field: 'lower', type: 'quantitative' }, y2: { field: 'upper' } } },
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'value', type: 'quantitative' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** The Gao et al. fit: eval vs d = √KL at each checkpoint, the fitted R(d) and the predicted peak d*. */
export function gaoFitSpec(fit: OveroptimizationFit, points: readonly { kl: number; value: number; checkpoint: string }[], metric: string): TopLevelSpec {
  const maxD = Math.max(...points.map((p) => Math.sqrt(p.kl)), fit.peakD ?? 0) * 1.15 || 1;
  const curve = Array.from({ length: 81 }, (_, i) => {
    const d = (maxD * i) / 80;
    return { d, value: fit.baseline + gaoGain(fit.form, fit.alpha, fit.beta, d), series: `fit (${fit.form}) R(d) = d(α − β${fit.form === 'rl' ? '·ln d' : '·d'})` };
  });
  const observed = points.map((p) => ({ d: Math.sqrt(p.kl), value: p.value, checkpoint: p.checkpoint, series: 'checkpoints' }));
  const layer: object[] = [
    { data: { values: curve }, mark: 'line', encoding: { x: { field: 'd', type: 'quantitative', title: 'd = √KL (nats)' }, y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } }, color: { field: 'series', type: 'nominal', title: null } } },
    { data: { values: observed }, mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'd', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' }, color: { field: 'series', type: 'nominal' }, tooltip: [{ field: 'checkpoint' }] } },
  ];
  if (fit.peakD !== null) {
    layer.push({ data: { values: [{ d: fit.peakD, label: `predicted peak d* = ${fit.peakD.toFixed(2)}` }] }, mark: { type: 'rule', strokeDash: [4, 3], color: 'firebrick' }, encoding: { x: { field: 'd', type: 'quantitative' } } });
    layer.push({ data: { values: [{ d: fit.peakD, label: `d* = ${fit.peakD.toFixed(2)}` }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'firebrick' }, encoding: { x: { field: 'd', type: 'quantitative' }, text: { field: 'label' }, y: { value: 10 } } });
  }
  return {
    $schema: SCHEMA,
    title: `Over-optimization fit (Gao et al. 2022): ${metric} vs √KL, RMSE ${fit.rmse.toFixed(3)}`,
    width: 420,
    height: 260,
    layer,
  } as TopLevelSpec;
}

/** Response lengths (tokens) of the incumbent and the candidate on the same prompts and seeds. */
export function lengthDistributionSpec(lengths: { incumbent: readonly number[]; candidate: readonly number[] }): TopLevelSpec {
  const values = [
    ...lengths.incumbent.map((tokens) => ({ side: 'incumbent', tokens })),
    ...lengths.candidate.map((tokens) => ({ side: 'candidate', tokens })),
  ];
  return {
    $schema: SCHEMA,
    title: 'Response length, incumbent vs candidate',
    width: 420,
    height: 220,
    data: { values },
    mark: { type: 'bar', opacity: 0.55 },
    encoding: {
      x: { field: 'tokens', type: 'quantitative', bin: { maxbins: 24 }, title: 'response length (tokens)' },
      y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'responses' },
      color: { field: 'side', type: 'nominal', title: null, scale: { domain: ['incumbent', 'candidate'] } },
    },
  };
}
