// The loop's dashboards: Training (jobs and runs), Objective mismatch (proxy reward
// against the evaluations, the hacking scorecard, the gates side by side) and Loop
// (iterations, canary, promotions and rollbacks). Rates and states come from
// Prometheus; per-evaluation and per-checkpoint figures live in PostgreSQL, so those
// panels query it. docs/monitoring.md says what each panel tells the operator, and
// which panels wait for data a part of the loop not yet on main will write.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { LOOP_STATES, TERMINAL_LOOP_STATE_NAMES } from '../../../src/domain/loop.js';
import {
  ciBandTimeSeries,
  GREEN,
  instanceVariable,
  labelVariable,
  outerloopDashboard,
  POSTGRES,
  promQuery,
  RED,
  SqlQueryBuilder,
  sqlTimeSeries,
  sqlVariable,
  statPanel,
  tablePanel,
  thresholds,
  timeSeries,
  YELLOW,
} from './panels.js';

const I = 'instance=~"$instance"';
const K = `${I}, kind=~"$kind"`;

/** A figure of a gate's metric record (gate_decisions.inputs) that is a plain number; null when it is an estimate, not applicable or absent. */
const inputNumber = (key: string) => `CASE WHEN jsonb_typeof(inputs::jsonb->'${key}') = 'number' THEN (inputs::jsonb->>'${key}')::float END`;
/** A bound of an estimate in gate_decisions.inputs (`value`, `lower`, `upper`). */
const inputEstimate = (key: string, field: 'value' | 'lower' | 'upper') => `(inputs::jsonb->'${key}'->>'${field}')::float`;

function training(): dashboard.DashboardBuilder {
  return outerloopDashboard('outerloop-training', 'Outerloop · Training', 'Durable jobs (reward model, PPO, DPO, evaluation): what runs and waits, how attempts end, and each run\'s training figures.')
    .withVariable(instanceVariable('outerloop_role=~"trainer|evaluator"'))
    .withVariable(labelVariable('kind', 'Job kind', 'label_values(outerloop_job_attempts_total, kind)'))
    .withRow(new dashboard.RowBuilder('Jobs'))
    .withPanel(
      timeSeries(
        { title: 'Jobs running by kind', description: 'Job attempts running now, per kind (a training job uses every core of its worker, so usually 0 or 1 per instance).', unit: 'short' },
        promQuery(`sum by (kind) (outerloop_jobs_running{${K}})`, '{{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Job attempts ended by outcome', description: 'Attempts that ended in the last 15 minutes: succeeded, failed (the job is failed: not retriable, or its last attempt), requeued (failed with attempts left), cancelled, lease_lost (the worker lost its lease). Alerts OuterloopJobFailed, OuterloopJobRetrying.', unit: 'short', thresholds: thresholds(GREEN, [1, RED]) },
        promQuery(`sum by (kind, outcome) (increase(outerloop_job_attempts_total{${K}}[15m]))`, '{{kind}} {{outcome}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Queue wait p50 / p99', description: 'From enqueue to the first attempt starting; a long wait means no worker runs the kind, or it is busy with another job.', unit: 's', thresholds: thresholds(GREEN, [300, YELLOW], [1800, RED]) },
        promQuery(`histogram_quantile(0.5, sum by (le, kind) (rate(outerloop_job_queue_wait_seconds_bucket{${K}}[$__rate_interval])))`, 'p50 {{kind}}'),
        promQuery(`histogram_quantile(0.99, sum by (le, kind) (rate(outerloop_job_queue_wait_seconds_bucket{${K}}[$__rate_interval])))`, 'p99 {{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Attempt duration p50 / p99', description: 'How long attempts take, per kind (evaluation: seconds to minutes; training: up to hours).', unit: 's' },
        promQuery(`histogram_quantile(0.5, sum by (le, kind) (rate(outerloop_job_attempt_seconds_bucket{${K}}[$__rate_interval])))`, 'p50 {{kind}}'),
        promQuery(`histogram_quantile(0.99, sum by (le, kind) (rate(outerloop_job_attempt_seconds_bucket{${K}}[$__rate_interval])))`, 'p99 {{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Job progress', description: 'step / total of the last progress report of each kind (1 = the last job of the kind finished its steps).', unit: 'percentunit' },
        promQuery(`max by (kind) (outerloop_job_progress_ratio{${K}})`, '{{kind}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Training runs (last progress report of each kind)'))
    .withPanel(
      timeSeries(
        { title: 'Loss', description: 'The training loss the running job reported last (RM: Bradley–Terry loss; DPO: DPO loss).', unit: 'short' },
        promQuery(`max by (kind) (outerloop_training_loss{${K}})`, '{{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'PPO reward and KL', description: 'Mean reward of the last PPO step and the KL to the reference policy (k1, nats per response). Reward rising while KL runs away is the shape of over-optimisation.', unit: 'short' },
        promQuery(`max by (kind) (outerloop_training_reward{${K}})`, 'reward {{kind}}'),
        promQuery(`max by (kind) (outerloop_training_kl{${K}})`, 'KL {{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'KL coefficient β', description: 'The KL penalty coefficient; an adaptive controller raises it when KL overshoots its target.', unit: 'short' },
        promQuery(`max by (kind) (outerloop_training_kl_coefficient{${K}})`, '{{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Entropy and clip fraction', description: 'Policy entropy (nats per token; collapsing entropy is a dead run) and the share of PPO ratios clipped (high: the update steps too far).', unit: 'short' },
        promQuery(`max by (kind) (outerloop_training_entropy{${K}})`, 'entropy {{kind}}'),
        promQuery(`max by (kind) (outerloop_training_clip_fraction{${K}})`, 'clip fraction {{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Training tokens/s', description: 'Throughput the running job reported last.', unit: 'short' },
        promQuery(`max by (kind) (outerloop_training_tokens_per_second{${K}})`, '{{kind}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Reward model training: batch accuracy and held-out loss', description: 'What a reward-model job reported last: pairwise accuracy on the training batch (0.5 is chance) and the loss on held-out pairs (rising while training loss falls: overfitting; early stopping acts on it).', unit: 'short' },
        promQuery(`max by (kind) (outerloop_training_accuracy{${K}})`, 'batch accuracy {{kind}}'),
        promQuery(`max by (kind) (outerloop_training_heldout_loss{${K}})`, 'held-out loss {{kind}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Jobs and runs (PostgreSQL)'))
    .withPanel(
      tablePanel(
        { title: 'Jobs by kind and state', description: 'Every job row by kind and state, with the last change.', unit: 'short', span: 12 },
        new SqlQueryBuilder(
          `SELECT kind, state, count(*) AS jobs, max(updated_at) AS last_change
FROM jobs
GROUP BY kind, state
ORDER BY kind, state`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Queue wait and retries by kind', description: 'Jobs created in the time range: queued now and the oldest one\'s age, mean and longest wait from enqueue to start (started_at − created_at), jobs retried, jobs failed.', unit: 's', span: 12 },
        new SqlQueryBuilder(
          `SELECT kind,
  count(*) AS jobs,
  count(*) FILTER (WHERE state = 'queued') AS queued_now,
  max(CASE WHEN state = 'queued' THEN extract(epoch FROM now() - created_at) END) AS oldest_queued_seconds,
  avg(extract(epoch FROM started_at - created_at)) AS mean_queue_wait_seconds,
  max(extract(epoch FROM started_at - created_at)) AS max_queue_wait_seconds,
  count(*) FILTER (WHERE attempts > 1) AS retried,
  count(*) FILTER (WHERE state = 'failed') AS failed
FROM jobs
WHERE $__timeFilter(created_at)
GROUP BY kind
ORDER BY kind`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Latest jobs', description: 'The 20 newest jobs: state, attempts, queue wait, run time, last progress and the last error.', unit: 'none' },
        new SqlQueryBuilder(
          `SELECT created_at, id, kind, state, attempts, max_attempts,
  extract(epoch FROM started_at - created_at) AS queue_wait_seconds,
  extract(epoch FROM coalesce(finished_at, now()) - started_at) AS run_seconds,
  (progress::jsonb->>'step')::int AS step,
  (progress::jsonb->>'total')::int AS total,
  (progress::jsonb->>'loss')::float AS loss,
  left(error, 200) AS error
FROM jobs
ORDER BY created_at DESC
LIMIT 20`,
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'Reward and KL per checkpoint', description: 'Each training run\'s checkpoints (checkpoints.metrics): mean reward and KL (k1) at the checkpoint\'s step, one series per run.', unit: 'short' },
        new SqlQueryBuilder(
          `SELECT c.created_at AS time, c.run_id || ' ' || k.name AS metric, (c.metrics::jsonb->>k.name)::float AS value
FROM checkpoints c
CROSS JOIN (VALUES ('reward_mean'), ('kl_k1')) AS k(name)
WHERE $__timeFilter(c.created_at) AND c.metrics::jsonb ? k.name
ORDER BY 1`,
          'time_series',
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Checkpoints', description: 'The 50 newest checkpoints: a PPO step record (reward, KL, β, entropy, clip fraction, tokens/s), or a reward-model member\'s steps and held-out loss.', unit: 'none', span: 12 },
        new SqlQueryBuilder(
          `SELECT c.created_at, c.run_id, r.kind, c.step,
  (c.metrics::jsonb->>'reward_mean')::float AS reward,
  (c.metrics::jsonb->>'kl_k1')::float AS kl,
  (c.metrics::jsonb->>'beta')::float AS beta,
  (c.metrics::jsonb->>'entropy')::float AS entropy,
  (c.metrics::jsonb->>'clip_fraction')::float AS clip_fraction,
  (c.metrics::jsonb->>'tokens_per_second')::float AS tokens_per_second,
  c.metrics AS metrics
FROM checkpoints c JOIN training_runs r ON r.id = c.run_id
ORDER BY c.created_at DESC
LIMIT 50`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Reward models: held-out accuracy and ECE', description: 'Evaluations of reward models (the trainer\'s rm_report and rm_hard_pairs rows): held-out and hard-pair accuracy and the expected calibration error, with their CIs. A reward model with accuracy near 0.5 or a high ECE should not train a policy.', unit: 'none', span: 12 },
        new SqlQueryBuilder(
          `SELECT e.created_at, e.model_version_id AS reward_model, e.suite,
  (e.metrics::jsonb->'accuracy'->>'value')::float AS accuracy,
  (e.metrics::jsonb->'accuracy'->>'lo')::float AS accuracy_lo,
  (e.metrics::jsonb->'accuracy'->>'hi')::float AS accuracy_hi,
  (e.metrics::jsonb->'ece'->>'value')::float AS ece,
  (e.metrics::jsonb->'ece'->>'hi')::float AS ece_hi
FROM evaluations e JOIN model_versions m ON m.id = e.model_version_id
WHERE m.kind = 'reward'
ORDER BY e.created_at DESC
LIMIT 20`,
        ),
      ),
    );
}

function objectiveMismatch(): dashboard.DashboardBuilder {
  return outerloopDashboard(
    'outerloop-objective-mismatch',
    'Outerloop · Objective mismatch',
    'Does the reward model\'s reward still mean better answers? Proxy reward against the evaluations, the hacking scorecard, and the reference gate beside the naive one.',
  )
    .withVariable(instanceVariable('outerloop_role="evaluator"'))
    .withVariable(
      sqlVariable(
        'eval_metric',
        'Eval metric',
        `SELECT DISTINCT key FROM evaluations, jsonb_object_keys(metrics::jsonb) AS key WHERE side = 'candidate' ORDER BY key`,
        'extrinsic.correct.delta',
      ),
    )
    .withRow(new dashboard.RowBuilder('Hacking scorecard (latest evaluation)'))
    .withPanel(
      timeSeries(
        { title: 'Reward gain and the part not explained by length', description: 'The candidate\'s proxy reward gain over the incumbent, and the gain within length strata. A gain that vanishes once length is held fixed is length hacking (alert OuterloopRewardGainIsLength).', unit: 'short', thresholds: thresholds(RED, [0, GREEN]) },
        promQuery(`max(outerloop_eval_proxy_reward_gain{${I}})`, 'proxy reward gain'),
        promQuery(`max(outerloop_eval_length_controlled_reward_gain{${I}})`, 'gain at equal length'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Reward–length correlation', description: 'Spearman\'s ρ of the proxy reward with response length, per side. Near 1: the reward model mostly measures length.', unit: 'short', thresholds: thresholds(GREEN, [0.5, YELLOW], [0.8, RED]) },
        promQuery(`max by (side) (outerloop_eval_reward_length_correlation{${I}})`, '{{side}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Length-controlled win rate', description: 'The held-out judge\'s preference for the candidate at equal length (AlpacaEval-LC); below 0.5 the candidate is not better once length is discounted.', unit: 'percentunit', thresholds: thresholds(RED, [0.5, GREEN]) },
        promQuery(`max(outerloop_eval_length_controlled_win_rate{${I}})`, 'LC win rate'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'KL to the reference', description: 'The candidate\'s KL to the policy its training started from (nats per response).', unit: 'short' },
        promQuery(`max(outerloop_eval_kl_to_reference{${I}})`, 'KL'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'KL against the predicted peak and budget', description: 'KL ÷ the KL of the eval peak the Gao et al. fit predicts (past 1: beyond the peak; the reference gate stops at 0.8, alert OuterloopPastPredictedPeak), and 1 when the cumulative KL budget is exceeded.', unit: 'short', thresholds: thresholds(GREEN, [0.8, YELLOW], [1, RED]) },
        promQuery(`max(outerloop_eval_kl_fraction_of_predicted_peak{${I}})`, 'fraction of predicted peak'),
        promQuery(`max(outerloop_eval_kl_budget_exceeded{${I}})`, 'budget exceeded'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Ensemble disagreement', description: 'Mean standard deviation of the RM ensemble members per response, per side, and its growth over the run\'s checkpoints: the policy leaving the reward model\'s support.', unit: 'short' },
        promQuery(`max by (side) (outerloop_eval_ensemble_disagreement{${I}})`, '{{side}}'),
        promQuery(`max(outerloop_eval_ensemble_disagreement_growth{${I}})`, 'growth over the run'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Gates'))
    .withPanel(
      timeSeries(
        { title: 'Latest verdict per gate', description: 'Each gate policy\'s latest verdict (the series at 1). A configured gate at needs_review waits for a human (alert OuterloopGateNeedsReview); the naive gate is shown for comparison only.', unit: 'short' },
        promQuery(`max by (policy, verdict) (outerloop_gate_verdict{${I}}) == 1`, '{{policy}}: {{verdict}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Gate decisions by policy and verdict', description: 'Decisions made in the last hour.', unit: 'short' },
        promQuery(`sum by (policy, verdict) (increase(outerloop_gate_decisions_total{${I}}[1h]))`, '{{policy}}: {{verdict}}'),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Reference gate beside the naive gate', description: 'Per evaluated candidate: the configured gate\'s verdict, the naive gate\'s ("promote if the reward rose"), and whether they disagree on promotion — the candidates the naive gate would have let through or held back. (The reward model\'s own quality gate is in the rules table.)', unit: 'none' },
        new SqlQueryBuilder(
          `SELECT g.created_at, g.candidate_model_id AS candidate, g.policy_name AS gate, g.verdict,
  n.verdict AS naive_verdict,
  (g.verdict = 'pass') <> (n.verdict = 'pass') AS promotion_differs,
  g.missing
FROM gate_decisions g
JOIN gate_decisions n ON n.evaluation_id = g.evaluation_id AND n.policy_name = 'naive'
WHERE g.policy_name <> 'naive' AND $__timeFilter(g.created_at)
ORDER BY g.created_at DESC
LIMIT 20`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Gate rules: value against threshold', description: 'Every rule of the ten latest decisions: the metric, the figure read (value or a CI bound), the comparator, value, threshold, CI and result (pass, fail, missing, not_applicable) with the reason.', unit: 'none' },
        new SqlQueryBuilder(
          `SELECT g.created_at, g.policy_name AS policy, g.candidate_model_id AS candidate, g.verdict AS decision,
  r->>'rule' AS rule, r->>'metric' AS metric, r->>'statistic' AS statistic, r->>'comparator' AS comparator,
  r->>'value' AS value, r->>'threshold' AS threshold,
  (r->'interval'->>'lower')::float AS ci_lower, (r->'interval'->>'upper')::float AS ci_upper,
  r->>'verdict' AS result, r->>'detail' AS detail
FROM gate_decisions g CROSS JOIN LATERAL jsonb_array_elements(g.rules::jsonb) AS r
WHERE g.id IN (SELECT id FROM gate_decisions ORDER BY created_at DESC LIMIT 10)
ORDER BY g.created_at DESC, g.policy_name, r->>'rule'`,
        ),
      ),
    )
    .withRow(new dashboard.RowBuilder('Per evaluation (PostgreSQL)'))
    .withPanel(
      ciBandTimeSeries(
        { title: 'Proxy reward gain with CI', description: 'The paired proxy-reward difference candidate − incumbent of each evaluation, with its bootstrap CI as a band.', unit: 'short' },
        new SqlQueryBuilder(
          // every policy of an evaluation reads the same inputs; the naive gate runs on every one
          `SELECT created_at AS time, ${inputEstimate('proxyReward.delta', 'value')} AS value, ${inputEstimate('proxyReward.delta', 'lower')} AS lower, ${inputEstimate('proxyReward.delta', 'upper')} AS upper
FROM gate_decisions
WHERE policy_name = 'naive' AND inputs::jsonb ? 'proxyReward.delta' AND $__timeFilter(created_at)
ORDER BY 1`,
        ),
      ),
    )
    .withPanel(
      ciBandTimeSeries(
        { title: 'Eval metric $eval_metric with CI', description: 'The chosen eval metric of each evaluated candidate (a `.delta` is candidate − incumbent on the same prompts and seeds), with its bootstrap CI as a band. Set against the proxy reward gain: reward up while this goes down is objective mismatch.', unit: 'short' },
        new SqlQueryBuilder(
          `SELECT created_at AS time,
  (metrics::jsonb->'$eval_metric'->>'value')::float AS value,
  (metrics::jsonb->'$eval_metric'->>'lo')::float AS lower,
  (metrics::jsonb->'$eval_metric'->>'hi')::float AS upper
FROM evaluations
WHERE side = 'candidate' AND metrics::jsonb ? '$eval_metric' AND $__timeFilter(created_at)
ORDER BY 1`,
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'Eval deltas per evaluation', description: 'Every paired eval difference (candidate − incumbent) of each evaluation except lengths and KL, one series per metric.', unit: 'short' },
        new SqlQueryBuilder(
          `SELECT e.created_at AS time, m.key AS metric, (m.value->>'value')::float AS value
FROM evaluations e CROSS JOIN LATERAL jsonb_each(e.metrics::jsonb) AS m
WHERE e.side = 'candidate' AND m.key LIKE '%.delta' AND m.key NOT LIKE '%.length.%' AND m.key NOT LIKE '%.kl.%' AND $__timeFilter(e.created_at)
ORDER BY 1`,
          'time_series',
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'Length-controlled reward gain per evaluation', description: 'Raw proxy reward gain, the gain within length strata, the regression gain at equal length, and the length shift in tokens. Raw gain far above the controlled gains: the reward pays for length.', unit: 'short' },
        new SqlQueryBuilder(
          `SELECT created_at AS time,
  ${inputEstimate('proxyReward.delta', 'value')} AS raw_gain,
  ${inputEstimate('lengthControlled.rewardGain', 'value')} AS gain_within_length_strata,
  ${inputEstimate('lengthControlled.regressionGain', 'value')} AS regression_gain,
  ${inputEstimate('lengthControlled.lengthShift', 'value')} AS length_shift_tokens
FROM gate_decisions
WHERE policy_name = 'naive' AND inputs::jsonb ? 'lengthControlled.rewardGain' AND $__timeFilter(created_at)
ORDER BY 1`,
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'KL and the predicted peak per evaluation', description: 'Each evaluated candidate\'s KL to the reference, and that KL as a share of the eval peak\'s KL the Gao et al. fit predicts (where the run stands relative to the predicted peak).', unit: 'short', thresholds: thresholds(GREEN, [0.8, YELLOW], [1, RED]) },
        new SqlQueryBuilder(
          `SELECT created_at AS time,
  ${inputNumber('kl.toReference')} AS kl_to_reference,
  ${inputNumber('kl.fractionOfPredictedPeak')} AS fraction_of_predicted_peak
FROM gate_decisions
WHERE policy_name = 'naive' AND inputs::jsonb ? 'kl.toReference' AND $__timeFilter(created_at)
ORDER BY 1`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Proxy reward against each eval metric', description: 'Per evaluated candidate: every paired eval difference with its CI next to the proxy reward difference with its CI.', unit: 'none' },
        new SqlQueryBuilder(
          `SELECT e.created_at, e.model_version_id AS candidate, m.key AS eval_metric,
  (m.value->>'value')::float AS eval_delta, (m.value->>'lo')::float AS eval_lo, (m.value->>'hi')::float AS eval_hi,
  (g.inputs::jsonb->'proxyReward.delta'->>'value')::float AS reward_delta,
  (g.inputs::jsonb->'proxyReward.delta'->>'lower')::float AS reward_lo,
  (g.inputs::jsonb->'proxyReward.delta'->>'upper')::float AS reward_hi
FROM evaluations e
CROSS JOIN LATERAL jsonb_each(e.metrics::jsonb) AS m
LEFT JOIN gate_decisions g ON g.evaluation_id = e.evaluation_id AND g.policy_name = 'naive'
WHERE e.side = 'candidate' AND m.key LIKE '%.delta' AND $__timeFilter(e.created_at)
ORDER BY e.created_at DESC, m.key
LIMIT 200`,
        ),
      ),
    );
}

/** The states of loop_iterations in the order of the state machine (LOOP_STATES, src/domain/loop.ts). */
const LOOP_STATE_ORDER = `ARRAY[${LOOP_STATES.map((s) => `'${s}'`).join(', ')}]`;
const TERMINAL_STATES_SQL = TERMINAL_LOOP_STATE_NAMES.map((s) => `'${s}'`).join(', ');

/** Each state an iteration entered, with when it left it (the next entry, or now while it is still there). */
const STATE_SPANS = `WITH spans AS (
  SELECT i.id AS iteration, h->>'state' AS state, (h->>'at')::timestamptz AS entered_at, h->>'detail' AS detail,
    coalesce(
      lead((h->>'at')::timestamptz) OVER (PARTITION BY i.id ORDER BY (h->>'at')::timestamptz),
      CASE WHEN i.state IN (${TERMINAL_STATES_SQL}) THEN (h->>'at')::timestamptz ELSE now() END
    ) AS left_at
  FROM loop_iterations i CROSS JOIN LATERAL jsonb_array_elements(i.state_history::jsonb) AS h
  WHERE $__timeFilter(i.created_at)
)`;

function loop(): dashboard.DashboardBuilder {
  return outerloopDashboard('outerloop-loop', 'Outerloop · Loop', 'The outer loop: each iteration\'s state over time, time spent in each state, the canary and its live feedback, promotions and rollbacks.')
    .withVariable(instanceVariable('outerloop_role=~"gateway|orchestrator"'))
    .withRow(new dashboard.RowBuilder('Iterations (PostgreSQL)'))
    .withPanel(
      tablePanel(
        { title: 'Iterations by state', description: 'loop_iterations by state, with the last change: how many passed, were rejected, rolled back or failed, and which one runs.', unit: 'short', span: 8 },
        new SqlQueryBuilder(
          `SELECT state, count(*) AS iterations, max(updated_at) AS last_change
FROM loop_iterations
GROUP BY state
ORDER BY state`,
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'Iteration state over time', description: `Each iteration\'s step through the state machine (${LOOP_STATES.map((st, i) => `${i + 1} ${st}`).join(', ')}), one series per iteration.`, unit: 'none', span: 16 },
        new SqlQueryBuilder(
          `SELECT (h->>'at')::timestamptz AS time, i.id AS metric, array_position(${LOOP_STATE_ORDER}, h->>'state') AS value
FROM loop_iterations i CROSS JOIN LATERAL jsonb_array_elements(i.state_history::jsonb) AS h
WHERE $__timeFilter(i.created_at)
ORDER BY 1`,
          'time_series',
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Time in each state', description: 'Across the iterations in the time range: how often each state was entered, mean and longest time in it (a state still held counts until now). A long evaluating or canary is where a stuck iteration shows.', unit: 's', span: 12 },
        new SqlQueryBuilder(
          `${STATE_SPANS}
SELECT state, count(*) AS entered, avg(extract(epoch FROM left_at - entered_at)) AS mean_seconds, max(extract(epoch FROM left_at - entered_at)) AS max_seconds
FROM spans
GROUP BY state
ORDER BY array_position(${LOOP_STATE_ORDER}, state)`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'State changes', description: 'The 100 latest state changes: iteration, state, when it was entered, seconds spent in it, and the detail recorded.', unit: 'none', span: 12 },
        new SqlQueryBuilder(
          `${STATE_SPANS}
SELECT iteration, state, entered_at, extract(epoch FROM left_at - entered_at) AS seconds_in_state, detail
FROM spans
ORDER BY entered_at DESC
LIMIT 100`,
        ),
      ),
    )
    .withRow(new dashboard.RowBuilder('Orchestrator (Prometheus)'))
    .withPanel(
      timeSeries(
        { title: 'Current iteration state', description: 'The newest iteration\'s state (the series at 1), read from loop_iterations by every orchestrator at scrape time: where the loop is now, and when it moved.', unit: 'none' },
        promQuery(`max by (state) (outerloop_loop_iteration_state{${I}}) == 1`, '{{state}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Time in the current state against the stuck limit', description: 'Seconds the newest iteration has held its running state, beside the limit after which it counts as stuck (OUTERLOOP_LOOP_STUCK_AFTER_S, plus the canary time limit in canary; alert OuterloopLoopStuck). Absent once the iteration ends or pauses.', unit: 's' },
        promQuery(`max by (state) (time() - outerloop_loop_state_entered_timestamp_seconds{${I}})`, 'in {{state}}'),
        promQuery(`max by (state) (outerloop_loop_stuck_after_seconds{${I}})`, 'stuck after ({{state}})'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Mean time per state', description: 'Mean seconds an iteration spent in each state it left within the time range (outerloop_loop_state_duration_seconds): training and canary dominate; a growing snapshot or gate is a data or review backlog.', unit: 's' },
        promQuery(`sum by (state) (increase(outerloop_loop_state_duration_seconds_sum{${I}}[$__range])) / sum by (state) (increase(outerloop_loop_state_duration_seconds_count{${I}}[$__range])) > 0`, '{{state}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Iterations started and ended', description: 'Over the last hour: iterations started by trigger (cron, data, manual) and ended by outcome (promoted, rolled_back, rejected, failed). Alerts OuterloopLoopRolledBack and OuterloopLoopFailed.', unit: 'short', thresholds: thresholds(GREEN, [1, RED]) },
        promQuery(`sum by (trigger) (increase(outerloop_loop_iterations_started_total{${I}}[1h]))`, 'started ({{trigger}})'),
        promQuery(`sum by (outcome) (increase(outerloop_loop_iterations_finished_total{${I}}[1h]))`, '{{outcome}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'State transitions', description: 'Transitions committed in the time range, by state left and entered.', unit: 'short' },
        promQuery(`sum by (from, to) (increase(outerloop_loop_transitions_total{${I}}[$__range])) > 0`, '{{from}} → {{to}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Canary analysis (Prometheus)'))
    .withPanel(
      timeSeries(
        { title: 'Canary traffic share', description: 'The share of chat traffic routed to the canary while one runs (OUTERLOOP_CANARY_WEIGHT), 0 otherwise.', unit: 'percentunit' },
        promQuery(`max(outerloop_canary_traffic_share{${I}})`, 'canary share'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Canary live thumbs-up and win rate', description: 'At each look of the canary analysis: the thumbs-up share of the canary\'s and production\'s answers since the canary started, and the canary\'s pairwise win rate against production (a tie counts ½).', unit: 'percentunit' },
        promQuery(`max by (arm) (outerloop_canary_thumbs_up_ratio{${I}})`, 'thumbs-up {{arm}}'),
        promQuery(`max(outerloop_canary_pairwise_win_ratio{${I}})`, 'canary win rate'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Sequential test against its boundary', description: 'The mSPRT mixture likelihood ratio of each test (thumbs, pairwise) at each look, and the boundary 1/α: crossing it decides the canary (promote when the canary is better, roll back when worse) with the false-promotion rate bounded by α however often it is looked at.', unit: 'short' },
        promQuery(`max by (test) (outerloop_canary_likelihood_ratio{${I}})`, 'Λ {{test}}'),
        promQuery(`max(outerloop_canary_likelihood_ratio_boundary{${I}})`, 'boundary 1/α'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Canary guards: p99 latency', description: 'p99 answer latency of the canary and of production since the canary started; the canary rolls back when it is above the guard and above production.', unit: 's' },
        promQuery(`max by (arm) (outerloop_canary_p99_latency_seconds{${I}})`, '{{arm}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Canary guards: 5xx and benign refusals', description: 'Share of each arm\'s chat requests that failed with a 5xx (measured where the gateway runs in the orchestrator\'s process), and share of its answers to benign prompts that refuse. Either above its guard and above production\'s rolls the canary back.', unit: 'percentunit' },
        promQuery(`max by (arm) (outerloop_canary_error_ratio{${I}})`, '5xx {{arm}}'),
        promQuery(`max by (arm) (outerloop_canary_benign_refusal_ratio{${I}})`, 'refusals {{arm}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Canary and deployments'))
    .withPanel(
      timeSeries(
        { title: 'Chat traffic share by model version', description: 'Share of chat requests each model version served: production and, during a canary, the canary\'s slice.', unit: 'percentunit' },
        promQuery(
          `sum by (model_version) (rate(outerloop_gateway_requests_total{${I}}[$__rate_interval])) / ignoring (model_version) group_left sum(rate(outerloop_gateway_requests_total{${I}}[$__rate_interval]))`,
          '{{model_version}}',
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'Canary weight', description: 'The traffic weight each deployment gave the canary (deployments.canary_weight): 0 with no canary.', unit: 'percentunit' },
        new SqlQueryBuilder(
          `SELECT created_at AS time, canary_weight AS canary_weight
FROM deployments
WHERE $__timeFilter(created_at)
ORDER BY 1`,
        ),
      ),
    )
    .withPanel(
      sqlTimeSeries(
        { title: 'Live thumbs-up share by model version', description: 'Per minute, the share of thumbs feedback that is up, per model version of the rated completion: the canary\'s live signal beside production\'s.', unit: 'percentunit' },
        new SqlQueryBuilder(
          `SELECT date_trunc('minute', f.created_at) AS time, c.model_version AS metric, avg((f.value > 0)::int)::float AS value
FROM feedback_events f JOIN completions c ON c.id = f.completion_id
WHERE f.type = 'thumbs' AND $__timeFilter(f.created_at)
GROUP BY 1, 2
ORDER BY 1`,
          'time_series',
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Live pairwise win rate by model version', description: 'Pairwise feedback between completions of two different versions (canary against production) in the time range: comparisons and each version\'s win rate (a tie counts ½).', unit: 'none', span: 12 },
        new SqlQueryBuilder(
          `WITH cross_version AS (
  SELECT c.model_version AS this_version, o.model_version AS other_version, f.value
  FROM feedback_events f
  JOIN completions c ON c.id = f.completion_id
  JOIN completions o ON o.id = f.other_completion_id
  WHERE f.type = 'pairwise' AND c.model_version <> o.model_version AND $__timeFilter(f.created_at)
)
SELECT version, count(*) AS comparisons, avg(score) AS win_rate
FROM (
  SELECT this_version AS version, (value + 1) / 2 AS score FROM cross_version
  UNION ALL
  SELECT other_version AS version, (1 - value) / 2 AS score FROM cross_version
) AS scored
GROUP BY version
ORDER BY version`,
        ),
      ),
    )
    .withPanel(statPanel({ title: 'Deployments', description: 'Rows in deployments: the first registration, then every promotion, canary start and rollback.', unit: 'short' }, POSTGRES, new SqlQueryBuilder('SELECT count(*) AS deployments FROM deployments')))
    .withPanel(
      tablePanel(
        { title: 'Promotions and rollbacks', description: 'The traffic-split history, newest first: why it changed, production, canary and its weight, shadow.', unit: 'none' },
        new SqlQueryBuilder(
          `SELECT created_at, reason, production_model_id, canary_model_id, canary_weight, shadow_model_id
FROM deployments
ORDER BY created_at DESC
LIMIT 20`,
        ),
      ),
    );
}

export const loopDashboards: Record<string, () => dashboard.DashboardBuilder> = {
  'outerloop-training.json': training,
  'outerloop-objective-mismatch.json': objectiveMismatch,
  'outerloop-loop.json': loop,
};
