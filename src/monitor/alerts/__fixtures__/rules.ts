import type { AlertRule } from '../rule.js';
import type { RuleSet } from '../rule-set.js';

const minute = 60_000;

/** A CPU rule evaluated every minute, firing above 85; `changes` override any field. */
export function cpuRule(changes: Partial<AlertRule> = {}): AlertRule {
  return {
    name: 'cpu-high',
    metric: 'cpu_percent',
    aggregation: 'avg',
    windowMs: minute,
    everyMs: minute,
    comparison: '>',
    threshold: 85,
    forMs: 0,
    severity: 'warning',
    channels: ['ops'],
    repeatIntervalMs: 4 * 60 * minute,
    summary: 'CPU usage',
    line: 0,
    ...changes,
  };
}

export function ruleSet(rules: readonly AlertRule[], source = 'test'): RuleSet {
  return { source, digest: 'test', rules, warnings: [] };
}
