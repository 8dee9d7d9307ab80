import { findRuleProblems, type RuleContext } from './rule-checks.js';
import type { AlertRule } from './rule.js';
import { defaultRepeatIntervalMs } from './rule-schema.js';
import type { RuleIssue, RuleSet } from './rule-set.js';

const minute = 60_000;

/**
 * The operators' runbook, as rules: what the service raises when no rules file is configured.
 *
 * | rule             | metric              | every | alert when | notify by     |
 * |------------------|---------------------|-------|------------|---------------|
 * | cpu-high         | CPU usage           | 1m    | > 85 %     | email + SMS   |
 * | latency-p99-high | P99 latency         | 5m    | > 2000 ms  | WeCom robot   |
 * | error-rate-high  | error rate          | 10m   | > 5 %      | phone call    |
 */
export const builtInRules: readonly AlertRule[] = [
  {
    name: 'cpu-high',
    metric: 'cpu_percent',
    aggregation: 'avg',
    windowMs: minute,
    everyMs: minute,
    comparison: '>',
    threshold: 85,
    forMs: 0,
    severity: 'warning',
    channels: ['email', 'sms'],
    repeatIntervalMs: defaultRepeatIntervalMs,
    summary: 'CPU usage',
    line: 0,
  },
  {
    name: 'latency-p99-high',
    metric: 'request_latency_ms',
    aggregation: 'p99',
    windowMs: 5 * minute,
    everyMs: 5 * minute,
    comparison: '>',
    threshold: 2000,
    forMs: 0,
    severity: 'warning',
    channels: ['wecom'],
    repeatIntervalMs: defaultRepeatIntervalMs,
    summary: 'P99 latency',
    line: 0,
  },
  {
    name: 'error-rate-high',
    metric: 'error_rate_percent',
    aggregation: 'avg',
    windowMs: 10 * minute,
    everyMs: 10 * minute,
    comparison: '>',
    threshold: 5,
    forMs: 0,
    severity: 'critical',
    channels: ['phone'],
    repeatIntervalMs: defaultRepeatIntervalMs,
    summary: 'Error rate',
    line: 0,
  },
];

/** The label the built-in set carries as its `source`. */
export const builtInSource = 'built-in defaults';

/**
 * The built-in rules fitted to this deployment. Unlike a rules file, nothing here is an error:
 * the defaults must run on a single machine with no channels configured (the states still show
 * in GET /admin/alerts). So a channel that is not configured is dropped from the rule, and a rule
 * whose metric the time series lacks is dropped; each with a warning for the log.
 */
export function defaultRuleSet(context: RuleContext): RuleSet {
  const problems = findRuleProblems(builtInRules, context);
  const warnings: RuleIssue[] = [];
  const issue = (index: number, field: string, message: string): RuleIssue => ({
    line: 0,
    column: 0,
    path: `${builtInSource}[${index}].${field}`,
    rule: builtInRules[index]?.name,
    field,
    message,
  });
  const unusable = new Set<number>();
  for (const problem of problems.errors) {
    unusable.add(problem.index);
    warnings.push(issue(problem.index, problem.field, `${problem.message}; rule not loaded`));
  }
  const dropped = new Map<number, Set<number>>();
  for (const problem of problems.unknownChannels) {
    if (problem.entry === undefined || unusable.has(problem.index)) continue;
    const entries = dropped.get(problem.index) ?? new Set<number>();
    entries.add(problem.entry);
    dropped.set(problem.index, entries);
    warnings.push(issue(problem.index, 'channels', `${problem.message}; not notified`));
  }
  const rules = builtInRules.flatMap((rule, index) => {
    if (unusable.has(index)) return [];
    const entries = dropped.get(index);
    if (!entries) return [rule];
    return [{ ...rule, channels: rule.channels.filter((_, entry) => !entries.has(entry)) }];
  });
  return { source: builtInSource, digest: 'built-in', rules, warnings };
}
