import { Document } from 'yaml';
import type { Aggregation, Severity } from '../types.js';
import { prometheusDuration } from './duration.js';
import { translateSeries } from './promql.js';

/**
 * What the exporter needs of an alert rule: the fields that define its condition and severity.
 * Its own shape (not the alert engine's rule type) so the export stays independent of how rule
 * files are parsed and scheduled.
 */
export interface ExportableRule {
  name: string;
  /** A series of the in-process time series (`request_latency_ms`). */
  metric: string;
  aggregation: Aggregation;
  windowMs: number;
  comparison: '>' | '>=' | '<' | '<=';
  /** In the series' units (ms, %, bytes, per second). */
  threshold: number;
  /** How long the condition must hold before the alert fires, ms; 0 fires at once. */
  forMs: number;
  severity: Severity;
  /** One line naming what is measured ("P99 latency"); defaults to aggregation and metric. */
  summary?: string | undefined;
}

export interface PrometheusRuleOptions {
  /** `metadata.name`. Default `assistd`. */
  name?: string;
  /** `metadata.namespace`; left out when absent (kubectl applies it to the current namespace). */
  namespace?: string;
  /** `metadata.labels`: what the Prometheus resource's `ruleSelector` matches. */
  labels?: Record<string, string>;
}

/** A rule left out of the export, and why (untranslatable series or window, bad duration). */
export interface SkippedRule {
  name: string;
  reason: string;
}

/** One alerting rule, as Prometheus reads it. */
export interface PrometheusAlertingRule {
  alert: string;
  expr: string;
  /** Left out when the rule fires at once (Prometheus' default `for` is 0s). */
  for?: string;
  labels: { severity: Severity };
  annotations: { summary: string; description: string };
}

/** The `monitoring.coreos.com/v1` PrometheusRule resource the Prometheus Operator loads. */
export interface PrometheusRuleResource {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { groups: [{ name: 'assistd'; rules: PrometheusAlertingRule[] }] };
}

export interface PrometheusRuleExport {
  /** The resource as YAML, with the skipped rules listed in comments at its top. */
  yaml: string;
  resource: PrometheusRuleResource;
  skipped: SkippedRule[];
}

/**
 * The alert's name in Prometheus: the rule name in CamelCase after `Assistd`, the convention of
 * Prometheus alert names, so `latency-p99-high` becomes `AssistdLatencyP99High`.
 */
export function alertName(ruleName: string): string {
  const words = ruleName.split(/[^A-Za-z0-9]+/).filter((word) => word !== '');
  return `Assistd${words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('')}`;
}

function alertingRule(rule: ExportableRule): PrometheusAlertingRule | SkippedRule {
  const translation = translateSeries(rule.metric, rule.aggregation, rule.windowMs);
  if (!translation.ok) return { name: rule.name, reason: translation.reason };
  if (!Number.isFinite(rule.threshold)) {
    return { name: rule.name, reason: `threshold ${rule.threshold} is not a finite number` };
  }
  const holdFor = prometheusDuration(rule.forMs);
  if (holdFor === undefined) {
    return { name: rule.name, reason: `for ${rule.forMs} ms is not a whole number of ms from 0` };
  }
  const window = prometheusDuration(rule.windowMs)!;
  const condition = `${rule.comparison} ${rule.threshold}`;
  const where = translation.scope === 'instance' ? ' on {{ $labels.instance }}' : '';
  return {
    alert: alertName(rule.name),
    expr: `${translation.expr} ${condition}`,
    ...(rule.forMs > 0 ? { for: holdFor } : {}),
    labels: { severity: rule.severity },
    annotations: {
      summary: rule.summary ?? `${rule.aggregation} ${rule.metric}`,
      description:
        `${rule.aggregation} of ${rule.metric} over ${window}${where} is {{ $value }} ` +
        `(alert when ${condition}; assistd rule ${rule.name}).`,
    },
  };
}

/**
 * The configured rules as a PrometheusRule for the Prometheus Operator (what `assistd alerts
 * export --format prometheus` writes): one group, `assistd`, with one alert per rule over the
 * metrics `GET /metrics` exports. A rule with no faithful PromQL equivalent is skipped, never
 * approximated, and listed in `skipped` and in the YAML's header comments.
 */
export function exportPrometheusRule(
  rules: readonly ExportableRule[],
  options: PrometheusRuleOptions = {},
): PrometheusRuleExport {
  const exported: PrometheusAlertingRule[] = [];
  const skipped: SkippedRule[] = [];
  for (const rule of rules) {
    const result = alertingRule(rule);
    if ('reason' in result) skipped.push(result);
    else exported.push(result);
  }
  const metadata: PrometheusRuleResource['metadata'] = { name: options.name ?? 'assistd' };
  if (options.namespace !== undefined) metadata.namespace = options.namespace;
  if (options.labels && Object.keys(options.labels).length > 0) {
    metadata.labels = { ...options.labels };
  }
  const resource: PrometheusRuleResource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata,
    spec: { groups: [{ name: 'assistd', rules: exported }] },
  };
  const document = new Document(resource);
  const header = [' Generated by `assistd alerts export --format prometheus`.'];
  for (const rule of skipped) {
    // One line each: a line break in a rule name would end the comment and start YAML.
    header.push(` Skipped ${rule.name}: ${rule.reason}`.replace(/[\r\n]+/g, ' '));
  }
  document.commentBefore = header.join('\n');
  // lineWidth 0: a folded PromQL expression is valid YAML but hard to read and diff.
  return { yaml: document.toString({ lineWidth: 0 }), resource, skipped };
}

/** The PrometheusRule YAML alone: see `exportPrometheusRule`. */
export function prometheusRule(
  rules: readonly ExportableRule[],
  options: PrometheusRuleOptions = {},
): string {
  return exportPrometheusRule(rules, options).yaml;
}
