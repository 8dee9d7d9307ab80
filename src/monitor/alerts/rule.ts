import type { AlertInstance, Aggregation, Severity } from '../types.js';

/** How a rule compares the aggregated value with its threshold. */
export type Comparison = AlertInstance['comparison'];

export const comparisons = ['>', '>=', '<', '<='] as const satisfies readonly Comparison[];
export const aggregations = [
  'avg',
  'min',
  'max',
  'last',
  'p50',
  'p90',
  'p95',
  'p99',
] as const satisfies readonly Aggregation[];
export const severities = ['info', 'warning', 'critical'] as const satisfies readonly Severity[];

/**
 * One validated alert rule. Durations are milliseconds; the rules file writes them as `5m`, `90s`.
 * Built by `parseRulesText` (a YAML file) or `defaultRuleSet` (the runbook's three rules).
 */
export interface AlertRule {
  /** Unique within the set: letters, digits, `_`, `.`, `-`. Also the alert's `alertname` label. */
  name: string;
  /** A metric of the in-process time series (`MetricReader.metricNames()`). */
  metric: string;
  aggregation: Aggregation;
  /** The window the aggregation reduces, ending at the evaluation, in milliseconds. */
  windowMs: number;
  /** Time between evaluations, in milliseconds. */
  everyMs: number;
  comparison: Comparison;
  threshold: number;
  /** How long the condition must hold before the alert fires, in milliseconds; 0 fires at once. */
  forMs: number;
  severity: Severity;
  /** Configured channel names (`alerts.channels.NAME`); empty: state only, nothing is sent. */
  channels: readonly string[];
  /** Time between reminders while the alert keeps firing, in milliseconds. */
  repeatIntervalMs: number;
  /** Short title for messages, e.g. `P99 latency`; default `<aggregation> <metric>`. */
  summary?: string | undefined;
  /** Longer text for the admin view (what to check, who to call). */
  description?: string | undefined;
  /** Line of the rule in its file (1-based); 0 for rules built in code. */
  line: number;
}

/** Whether `value` breaches the rule's threshold. */
export function breaches(
  rule: Pick<AlertRule, 'comparison' | 'threshold'>,
  value: number,
): boolean {
  switch (rule.comparison) {
    case '>':
      return value > rule.threshold;
    case '>=':
      return value >= rule.threshold;
    case '<':
      return value < rule.threshold;
    case '<=':
      return value <= rule.threshold;
  }
}

/** The comparison that holds when `comparison` does not (for resolution messages). */
export function negate(comparison: Comparison): Comparison {
  const opposite: Record<Comparison, Comparison> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>' };
  return opposite[comparison];
}

/**
 * What decides whether a rule breaches and when it fires. A reload keeps a rule's state when this
 * is unchanged, even if its channels, severity, schedule or texts changed: those only affect the
 * next notification, not whether the alert is firing.
 */
export function conditionKey(rule: AlertRule): string {
  return JSON.stringify([
    rule.metric,
    rule.aggregation,
    rule.windowMs,
    rule.comparison,
    rule.threshold,
    rule.forMs,
  ]);
}

const durationUnits: ReadonlyArray<[string, number]> = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** Renders milliseconds the way the rules file writes them: `5m`, `90s`, `0s`; ms below 1 s. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of durationUnits) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The condition in one line, e.g. `p99(request_latency_ms[5m]) > 2000 for 0s`. */
export function describeCondition(rule: AlertRule): string {
  return (
    `${rule.aggregation}(${rule.metric}[${formatDuration(rule.windowMs)}]) ` +
    `${rule.comparison} ${rule.threshold} for ${formatDuration(rule.forMs)}`
  );
}
