// The evaluation report: markdown a reviewer reads top to bottom (the verdicts of every
// policy side by side, each rule with its value, threshold and result, every suite
// metric of both sides with the paired difference and its CI), and the charts it links.
import type { CheckpointEvaluation, Estimate, GateDecisionRecord, RuleOutcome } from '../../evaluation/index.js';
import type { CandidateEvaluation } from './candidate-evaluation.js';
import { type CheckpointMetricPoint, gaoFitSpec, lengthDistributionSpec, renderSvg, rewardVsEvalSpec } from './charts.js';

export interface EvaluationReport {
  markdown: string;
  /** chart name (file name without .svg) → SVG */
  charts: Record<string, string>;
}

export interface ReportContext {
  evaluationId: string;
  sampling: { seeds: readonly number[]; maxTokens: number; temperature: number };
  bootstrap: { seed: number; resamples?: number };
  /** the run's checkpoints, when the candidate came from one */
  run?: { id?: string; checkpoints: readonly CheckpointEvaluation[]; candidateStep: number };
  /** how the chart links are written: the file name by default (the report sits next to charts/) */
  chartHref?: (name: string) => string;
}

const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const ci = (e: Estimate | undefined): string => (e ? `${num(e.value)} [${num(e.lower)}, ${num(e.upper)}]` : '—');
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function ruleValue(r: RuleOutcome): string {
  if (r.value === null) return '—';
  if (typeof r.value === 'boolean') return String(r.value);
  return r.interval ? `${num(r.value)} (CI ${num(r.interval.lower)}, ${num(r.interval.upper)})` : num(r.value);
}

function decisionTable(d: GateDecisionRecord): string[] {
  const lines = [`### ${d.policy}: **${d.verdict}**`, ''];
  if (d.missing.length > 0) lines.push(`Missing (makes the verdict needs_review): ${d.missing.map((m) => `\`${m}\``).join(', ')}`, '');
  lines.push('| rule | metric (figure) | value | threshold | result | reason |', '|---|---|---|---|---|---|');
  for (const r of d.rules) {
    lines.push(`| ${cell(r.rule)} | \`${r.metric}\` (${r.statistic}) | ${ruleValue(r)} | ${r.comparator} ${String(r.threshold)} | ${r.result} | ${cell(r.reason ?? '')} |`);
  }
  return [...lines, ''];
}

/** The points of the reward-vs-eval chart: the run's checkpoints, or the incumbent and the candidate. */
function rewardVsEvalPoints(e: CandidateEvaluation, ctx: ReportContext): CheckpointMetricPoint[] {
  const points: CheckpointMetricPoint[] = [];
  const add = (checkpoint: string, order: number, metric: string, est: Estimate | undefined): void => {
    if (est && Number.isFinite(est.value)) points.push({ checkpoint, order, metric, value: est.value, lower: est.lower, upper: est.upper });
  };
  if (ctx.run) {
    for (const [i, c] of ctx.run.checkpoints.entries()) {
      add(`step ${c.step}`, i, 'proxy reward', c.proxyReward);
      for (const [name, est] of Object.entries(c.metrics)) add(`step ${c.step}`, i, name, est);
    }
    return points;
  }
  const sides = [['incumbent', 0], ['candidate', 1]] as const;
  for (const [side, order] of sides) {
    if (e.proxyReward) add(side, order, 'proxy reward', e.proxyReward[side]);
    for (const comp of e.comparisons) {
      const metrics = comp[side].metrics;
      for (const name of Object.keys(metrics)) {
        // the suite's own scorers and the mean length; the rest is in the tables
        const scorer = name.slice(comp[side].suite.length + 1);
        if (!scorer.includes('.') || scorer === 'length.tokens.mean') add(side, order, name, metrics[name]);
      }
    }
  }
  return points;
}

export async function buildEvaluationReport(e: CandidateEvaluation, ctx: ReportContext): Promise<EvaluationReport> {
  const href = ctx.chartHref ?? ((name: string) => `charts/${name}.svg`);
  const charts: Record<string, string> = {};
  charts['reward-vs-eval'] = await renderSvg(rewardVsEvalSpec(rewardVsEvalPoints(e, ctx)));
  const tokens = (side: 'candidate' | 'incumbent') => [...e.sides[side].values()].flatMap((s) => s.samples.map((x) => x.tokens ?? 0));
  charts['length-distribution'] = await renderSvg(lengthDistributionSpec({ incumbent: tokens('incumbent'), candidate: tokens('candidate') }));
  const choice = e.decisions[0]?.chosenCheckpoint;
  if (e.overoptimization && e.overoptimizationMetric && ctx.run) {
    const metric = e.overoptimizationMetric;
    const pts = ctx.run.checkpoints.filter((c) => c.metrics[metric]).map((c) => ({ kl: c.kl, value: c.metrics[metric]!.value, checkpoint: `step ${c.step}` }));
    charts['gao-fit'] = await renderSvg(gaoFitSpec(e.overoptimization, pts, metric));
  }

  const lines: string[] = [
    `# Evaluation ${ctx.evaluationId}`,
    '',
    `- candidate: \`${e.candidate}\``,
    `- incumbent: \`${e.incumbent}\``,
    `- KL reference: \`${e.reference}\``,
    ...(ctx.run ? [`- run: \`${ctx.run.id ?? '(unnamed)'}\`, candidate step ${ctx.run.candidateStep}, ${ctx.run.checkpoints.length} checkpoints`] : []),
    `- sampling: seeds ${ctx.sampling.seeds.join(', ')}, max ${ctx.sampling.maxTokens} tokens, temperature ${ctx.sampling.temperature}; ${e.samples} responses`,
    `- bootstrap: seed ${ctx.bootstrap.seed}, ${ctx.bootstrap.resamples ?? 1000} resamples over prompts (paired for differences)`,
    `- time: sampling ${num(e.timings.samplingSeconds, 1)} s, scoring ${num(e.timings.scoringSeconds, 1)} s, statistics ${num(e.timings.statisticsSeconds, 1)} s`,
    '',
    '## Verdicts',
    '',
    '| policy | verdict | failing rules | missing metrics |',
    '|---|---|---|---|',
    ...e.decisions.map((d) => `| ${d.policy} | **${d.verdict}** | ${d.rules.filter((r) => r.result === 'fail').map((r) => r.rule).join(', ') || '—'} | ${d.missing.join(', ') || '—'} |`),
    '',
  ];
  if (choice) lines.push(`Checkpoint chosen by eval (1-SE rule on \`${choice.metric}\`): step ${choice.step}; the eval peak is step ${choice.bestStep} (eligible within one SE: ${choice.eligibleSteps.join(", ")}).`, '');
  if (ctx.run) {
    const metric = choice?.metric ?? e.overoptimizationMetric;
    lines.push('## Run checkpoints', '', `Step 0 is the run's reference (the policy PPO started from). Eval metric: \`${metric ?? '—'}\`.`, '');
    lines.push('| step | KL to reference | proxy reward | eval metric | ensemble disagreement |', '|---|---|---|---|---|');
    for (const c of ctx.run.checkpoints) {
      const mark = c.step === ctx.run.candidateStep ? ' (candidate)' : '';
      lines.push(`| ${c.step}${mark} | ${num(c.kl)} | ${ci(c.proxyReward)} | ${metric ? ci(c.metrics[metric]) : '—'} | ${c.ensembleDisagreement ? ci(c.ensembleDisagreement) : '—'} |`);
    }
    lines.push('');
  }
  lines.push('## Rules', '');
  for (const d of e.decisions) lines.push(...decisionTable(d));

  lines.push('## Suites', '');
  for (const c of e.comparisons) {
    lines.push(`### ${c.candidate.suite} (${c.candidate.prompts} prompts, set \`${c.candidate.promptSet.name}\` ${c.candidate.promptSet.sha256.slice(0, 12)}…)`, '');
    lines.push('| metric | candidate | incumbent | Δ (paired) |', '|---|---|---|---|');
    for (const [name, est] of Object.entries(c.candidate.metrics)) lines.push(`| \`${name}\` | ${ci(est)} | ${ci(c.incumbent.metrics[name])} | ${ci(c.deltas[`${name}.delta`])} |`);
    const labels = Object.entries(c.candidate.labels ?? {});
    if (labels.length > 0) lines.push('', `Labels (candidate): ${labels.map(([s, counts]) => `${s}: ${Object.entries(counts).map(([l, n]) => `${l} ${n}`).join(', ')}`).join('; ')}`);
    lines.push('');
  }

  lines.push('## Reward and divergence', '');
  if (e.proxyReward) {
    lines.push(`- proxy reward: candidate ${ci(e.proxyReward.candidate)}, incumbent ${ci(e.proxyReward.incumbent)}, Δ ${ci(e.proxyReward.delta)}`);
  } else lines.push('- proxy reward: no reward model was given, so the rules reading it are missing');
  if (e.lengthControlled) {
    const l = e.lengthControlled;
    lines.push(`- length-controlled reward gain (within ${l.strata} length strata): ${ci(l.binnedGain)}; regression gain ${ci(l.regressionGain)}; raw gain ${ci(l.rawGain)}; length shift ${ci(l.lengthShift)} tokens`);
  }
  if (e.judge) lines.push(`- judge RM win rate: ${ci(e.judge.winRate)}; length-controlled ${ci(e.judge.lengthControlledWinRate)}`);
  else lines.push('- judge RM: none was given');
  const kl = e.metrics['kl.toReference'];
  lines.push(`- KL of the candidate to the reference: ${typeof kl === 'number' ? num(kl) : '—'} nats per response`);
  if (e.klBudget) {
    const b = e.klBudget;
    lines.push(`- cumulative KL from the base policy: ${num(b.spent)} nats per response spent (Σ over promotions ${num(b.cumulative)}); budget ${b.budget === null ? 'not configured' : `${num(b.budget)}, ${b.exceeded ? 'exceeded' : 'within'}`}`);
  }
  if (e.overoptimization) {
    const f = e.overoptimization;
    lines.push(`- Gao fit (${f.form}): α ${num(f.alpha)}, β ${num(f.beta)}, d* ${num(f.peakD)} (KL ${num(f.peakKl)}), RMSE ${num(f.rmse)}, R² ${num(f.r2)}; the run stands at d/d* = ${num(f.current.fractionOfPeak)}`);
  } else lines.push('- Gao fit: needs a run with checkpoints at two KLs above 0 and the reference at KL 0; none for this evaluation');
  lines.push('', '## Charts', '');
  for (const name of Object.keys(charts)) lines.push(`![${name}](${href(name)})`, '');
  return { markdown: lines.join('\n'), charts };
}
