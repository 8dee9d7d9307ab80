import type { Aggregation, Severity } from '../types.js';
import { describeCondition, formatDuration, type AlertRule, type Comparison } from './rule.js';
import type { AlertState, RuleState } from './state-machine.js';

/** A rule as GET /admin/alerts shows it: durations written the way the rules file writes them. */
export interface AlertRuleView {
  name: string;
  metric: string;
  aggregation: Aggregation;
  window: string;
  every: string;
  comparison: Comparison;
  threshold: number;
  for: string;
  severity: Severity;
  channels: readonly string[];
  repeatInterval: string;
  summary?: string | undefined;
  description?: string | undefined;
  /** e.g. `p99(request_latency_ms[5m]) > 2000 for 0s`. */
  condition: string;
  /** Line in the rules file; 0 for a built-in rule. */
  line: number;
}

/** The last outcome of this rule's notifications on one channel. */
export interface DeliveryView {
  /** Milliseconds since the epoch. */
  at: number;
  ok: boolean;
  status?: number | undefined;
  detail: string;
  attempts: number;
  /** Which notification it was. */
  notification: 'firing' | 'resolved';
}

/** A rule's state. Times are milliseconds since the epoch; undefined: not yet. */
export interface AlertStateView {
  state: AlertState;
  since: number;
  /** When the condition started to hold (pending or firing). */
  activeAt?: number | undefined;
  /** The last evaluation's value; undefined: no data (or not evaluated yet). */
  value: number | undefined;
  lastEvaluatedAt?: number | undefined;
  lastNotifiedAt?: number | undefined;
  nextEvaluationAt?: number | undefined;
  fingerprint: string;
  /** Why the last read failed, when it did. */
  error?: string | undefined;
  /** Per channel, the last delivery result. */
  deliveries: Record<string, DeliveryView>;
}

/** One state change, for the bounded history. */
export interface AlertTransition {
  rule: string;
  from: AlertState;
  to: AlertState;
  at: number;
  value: number | undefined;
  /** Set when the change came from a reload, not an evaluation. */
  reason?: string | undefined;
}

/** The engine's part of GET /admin/alerts. */
export interface AlertEngineSnapshot {
  at: number;
  /** The rules file, or `built-in defaults`. */
  source: string;
  digest: string;
  instance: string;
  running: boolean;
  rules: Array<{ rule: AlertRuleView; state: AlertStateView }>;
  /** The last transitions, oldest first. */
  history: AlertTransition[];
}

export function ruleView(rule: AlertRule): AlertRuleView {
  return {
    name: rule.name,
    metric: rule.metric,
    aggregation: rule.aggregation,
    window: formatDuration(rule.windowMs),
    every: formatDuration(rule.everyMs),
    comparison: rule.comparison,
    threshold: rule.threshold,
    for: formatDuration(rule.forMs),
    severity: rule.severity,
    channels: [...rule.channels],
    repeatInterval: formatDuration(rule.repeatIntervalMs),
    summary: rule.summary,
    description: rule.description,
    condition: describeCondition(rule),
    line: rule.line,
  };
}

export function stateView(
  state: RuleState,
  extra: {
    fingerprint: string;
    nextEvaluationAt: number | undefined;
    error: string | undefined;
    deliveries: ReadonlyMap<string, DeliveryView>;
  },
): AlertStateView {
  return {
    state: state.state,
    since: state.since,
    activeAt: state.activeAt,
    value: state.value,
    lastEvaluatedAt: state.lastEvaluatedAt,
    lastNotifiedAt: state.lastNotifiedAt,
    nextEvaluationAt: extra.nextEvaluationAt,
    fingerprint: extra.fingerprint,
    error: extra.error,
    deliveries: Object.fromEntries(extra.deliveries),
  };
}
