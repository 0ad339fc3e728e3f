// Building blocks for Outerloop's Grafana dashboards, on the Grafana Foundation SDK's
// typed builders (a malformed panel does not compile). Every Prometheus query
// filters by the dashboard's `instance` variable; every panel names its unit.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Grafana's PostgreSQL plugin id (provisioned in deploy/grafana/provisioning/datasources) */
export const POSTGRES_PLUGIN = 'grafana-postgresql-datasource';
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
export const POSTGRES: DataSourceRef = { type: POSTGRES_PLUGIN, uid: '${postgres}' };

export const GREEN = 'green';
export const YELLOW = 'yellow';
export const RED = 'red';

/** Routes that are probes, not API traffic: kept out of API rates, error ratios and their alert. */
export const PROBE_ROUTES = '/healthz|/readyz|/metrics';

// ---- variables ----------------------------------------------------------------

export function prometheusVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus');
}

export function postgresVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('postgres').label('PostgreSQL').type(POSTGRES_PLUGIN);
}

/** A multi-value Prometheus label variable with "All" meaning any value (`.*`). */
export function labelVariable(name: string, label: string, query: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query({ query, refId: `${name}-variable` })
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

/** Roles come from outerloop_role_up, so the same variable works for one all-roles process and for one process per role. */
export function roleVariable(): dashboard.QueryVariableBuilder {
  return labelVariable('role', 'Role', 'label_values(outerloop_role_up, outerloop_role)');
}

/**
 * A single-value variable whose values a PostgreSQL query lists (e.g. the eval
 * metrics stored in `evaluations`); `fallback` is what a fresh dashboard shows and
 * what the tests substitute.
 */
export function sqlVariable(name: string, label: string, sql: string, fallback: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(POSTGRES)
    .query(sql)
    .definition(sql)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .current({ text: fallback, value: fallback });
}

/** Instances running the selected roles. */
export function instanceVariable(roleMatcher = 'outerloop_role=~"$role"'): dashboard.QueryVariableBuilder {
  return labelVariable('instance', 'Instance', `label_values(outerloop_role_up{${roleMatcher}}, instance)`);
}

// ---- queries ------------------------------------------------------------------

export function promQuery(expr: string, legend = ''): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(PROMETHEUS).expr(expr).legendFormat(legend).range();
}

/** Grafana's PostgreSQL query model (the SDK ships no builder for it). */
export interface SqlQuery {
  refId?: string;
  hide?: boolean;
  datasource?: DataSourceRef;
  rawSql: string;
  format: 'table' | 'time_series';
  rawQuery: true;
  editorMode: 'code';
  _implementsDataqueryVariant(): void;
}

export class SqlQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: SqlQuery;

  constructor(rawSql: string, format: SqlQuery['format'] = 'table') {
    this.internal = { datasource: POSTGRES, rawSql, format, rawQuery: true, editorMode: 'code', _implementsDataqueryVariant() {} };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  build(): SqlQuery {
    return this.internal;
  }
}

// ---- panels -------------------------------------------------------------------

/** Threshold steps: the first colour from -∞, then [value, colour] pairs. */
export function thresholds(base: string, ...steps: Array<[number, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

export interface PanelSpec {
  title: string;
  /** what the panel tells the operator (shown as the panel's description) */
  description: string;
  unit: string;
  thresholds?: dashboard.ThresholdsConfigBuilder;
  /** a 24-column grid: 12 = half width */
  span?: number;
}

/** What every panel builder of the SDK has in common. */
interface PanelBasics<P> {
  title(title: string): P;
  description(description: string): P;
  datasource(datasource: DataSourceRef): P;
  unit(unit: string): P;
  span(w: number): P;
  height(h: number): P;
}

function describe<P extends PanelBasics<P>>(panel: P, spec: PanelSpec, datasource: DataSourceRef, size: { span: number; height: number }): P {
  return panel.title(spec.title).description(spec.description).datasource(datasource).unit(spec.unit).span(spec.span ?? size.span).height(size.height);
}

function withQueries<P extends { withTarget(t: cog.Builder<cog.Dataquery>): P }>(panel: P, queries: Array<prometheus.DataqueryBuilder | SqlQueryBuilder>): P {
  queries.forEach((q, i) => panel.withTarget(q.refId(String.fromCharCode(65 + i))));
  return panel;
}

/** A time-series panel with the legend below, every series in the tooltip, and the spec's thresholds drawn dashed. */
function timeSeriesPanel(spec: PanelSpec, datasource: DataSourceRef): timeseries.PanelBuilder {
  const panel = describe(new timeseries.PanelBuilder(), spec, datasource, { span: 12, height: 8 })
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (spec.thresholds) {
    panel.thresholds(spec.thresholds).thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  return panel;
}

export function timeSeries(spec: PanelSpec, ...queries: prometheus.DataqueryBuilder[]): timeseries.PanelBuilder {
  return withQueries(timeSeriesPanel(spec, PROMETHEUS).min(0).fillOpacity(10), queries);
}

/**
 * A time series over PostgreSQL rows (per-evaluation or per-checkpoint figures): the
 * query returns `time`, `metric` and `value` (format time_series), or `time` and one
 * column per series. Points are drawn: each is one evaluation or checkpoint.
 */
export function sqlTimeSeries(spec: PanelSpec, ...queries: SqlQueryBuilder[]): timeseries.PanelBuilder {
  return withQueries(timeSeriesPanel(spec, POSTGRES).showPoints(common.VisibilityMode.Always).pointSize(6), queries);
}

/**
 * An estimate with its confidence interval as a band: the query returns the columns
 * `time`, `value`, `lower` and `upper`; the band fills from `upper` down to `lower`.
 */
export function ciBandTimeSeries(spec: PanelSpec, query: SqlQueryBuilder): timeseries.PanelBuilder {
  const bound = [{ id: 'custom.lineWidth', value: 0 }, { id: 'custom.showPoints', value: 'never' }, { id: 'custom.hideFrom', value: { legend: true, tooltip: false, viz: false } }];
  return sqlTimeSeries(spec, query)
    .overrideByName('upper', [...bound, { id: 'custom.fillBelowTo', value: 'lower' }, { id: 'custom.fillOpacity', value: 20 }])
    .overrideByName('lower', bound);
}

export function statPanel(spec: PanelSpec, datasource: DataSourceRef, ...queries: Array<prometheus.DataqueryBuilder | SqlQueryBuilder>): stat.PanelBuilder {
  const panel = describe(new stat.PanelBuilder(), spec, datasource, { span: 6, height: 5 })
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(spec.thresholds ?? thresholds('text'));
  return withQueries(panel, queries);
}

export function tablePanel(spec: PanelSpec, ...queries: SqlQueryBuilder[]): table.PanelBuilder {
  const panel = describe(new table.PanelBuilder(), spec, POSTGRES, { span: 24, height: 8 });
  return withQueries(panel, queries);
}

/** Promotions, canaries and rollbacks: every row of `deployments` (the traffic-split history) as an annotation. */
export function deploymentAnnotations(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Deployments (promotions, canaries, rollbacks)')
    .datasource(POSTGRES)
    .enable(true)
    .iconColor('purple')
    .target(
      new SqlQueryBuilder(
        `SELECT created_at AS time, reason AS text, 'deployment' AS tags
FROM deployments
WHERE $__timeFilter(created_at)
ORDER BY created_at`,
      ).refId('deployments'),
    );
}

// ---- dashboards ---------------------------------------------------------------

/** What every Outerloop dashboard has: tags, time, the datasource variables, the deployment annotations, links to the others. */
export function outerloopDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['outerloop'])
    .readonly()
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(prometheusVariable())
    .withVariable(postgresVariable())
    .annotation(deploymentAnnotations())
    .link(new dashboard.DashboardLinkBuilder('Outerloop').type(dashboard.DashboardLinkType.Dashboards).tags(['outerloop']).asDropdown(true).includeVars(true).keepTime(true));
}
