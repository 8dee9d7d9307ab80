import { createHash } from 'node:crypto';
import type { AlertInstance } from '../types.js';
import type { AlertRule } from './rule.js';
import type { RuleState } from './state-machine.js';
import { summaryLine } from './summary.js';

/**
 * A rule's alert id: 16 hex characters of SHA-256 over the rule name and instance. Stable across
 * repeats, restarts and reloads, so receivers (and Alertmanager-style tools) can match a
 * resolution to its firing; different per instance, so two servers' alerts stay apart.
 */
export function fingerprintOf(ruleName: string, instance: string): string {
  return createHash('sha256').update(`${ruleName}\n${instance}`).digest('hex').slice(0, 16);
}

/**
 * The alert as a notification carries it. A firing alert shows the value that made it fire, a
 * resolution the last value seen; `startsAt` is when the condition started to hold (the pending
 * start when `for` is set), `endsAt` when it resolved.
 */
export function alertInstance(
  rule: AlertRule,
  state: RuleState,
  status: 'firing' | 'resolved',
  now: number,
  fingerprint: string,
  labels: { instance: string; service: string },
): AlertInstance {
  const value = status === 'firing' ? (state.value ?? state.lastSeenValue) : state.lastSeenValue;
  const alert: AlertInstance = {
    rule: rule.name,
    status,
    severity: rule.severity,
    metric: rule.metric,
    aggregation: rule.aggregation,
    comparison: rule.comparison,
    threshold: rule.threshold,
    value,
    summary: summaryLine(rule, status, value),
    startsAt: state.activeAt ?? now,
    fingerprint,
    labels: { alertname: rule.name, severity: rule.severity, ...labels },
  };
  if (status === 'resolved') alert.endsAt = state.resolvedAt ?? now;
  return alert;
}
