// What `assistd alerts export` needs: the alert rules as a PrometheusRule, and a Grafana dashboard
// of the same series, both over the metrics `GET /metrics` exports.
export { prometheusDuration } from './duration.js';
export { grafanaDashboard } from './grafana.js';
export type {
  DatasourceRef,
  GrafanaDashboard,
  GrafanaDashboardOptions,
  GrafanaPanel,
  GrafanaTarget,
} from './grafana.js';
export { alertName, exportPrometheusRule, prometheusRule } from './prometheus-rule.js';
export type {
  ExportableRule,
  PrometheusAlertingRule,
  PrometheusRuleExport,
  PrometheusRuleOptions,
  PrometheusRuleResource,
  SkippedRule,
} from './prometheus-rule.js';
export { promqlFor, translateSeries } from './promql.js';
export type { Scope, Translation, Window } from './promql.js';
