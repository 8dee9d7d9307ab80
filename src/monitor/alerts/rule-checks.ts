import type { MetricReader } from '../types.js';
import { formatDuration, type AlertRule } from './rule.js';

/** What rules are checked against when they load. */
export interface RuleContext {
  /** The time series: which metrics exist and which aggregations each supports. */
  reader: Pick<MetricReader, 'supports' | 'metricNames'>;
  /** Names of the configured channels (`alerts.channels.NAME`). */
  channels: Iterable<string>;
}

/** One problem with one rule: `field` is the key, `entry` the list index for `channels`. */
export interface RuleProblem {
  index: number;
  field: string;
  entry?: number | undefined;
  message: string;
}

/** The problems of a rule list, sorted by what the caller does with them. */
export interface RuleProblems {
  /** The rule cannot be used: unknown metric, unsupported aggregation, duplicate name. */
  errors: RuleProblem[];
  /** A channel nobody configured (an error in a rules file; dropped from the built-ins). */
  unknownChannels: RuleProblem[];
  /** Valid but probably not meant. */
  warnings: RuleProblem[];
}

const maxListed = 20;

function list(names: readonly string[]): string {
  const shown = names.slice(0, maxListed).map((name) => `"${name}"`);
  if (names.length > maxListed) shown.push(`… ${names.length - maxListed} more`);
  return shown.join(', ');
}

/**
 * The checks a schema cannot make: against the metrics the time series has, the channels the
 * config defines, and the other rules.
 */
export function findRuleProblems(rules: readonly AlertRule[], context: RuleContext): RuleProblems {
  const problems: RuleProblems = { errors: [], unknownChannels: [], warnings: [] };
  const channels = new Set(context.channels);
  const metrics = context.reader.metricNames();
  const firstIndex = new Map<string, number>();
  for (const [index, rule] of rules.entries()) {
    const earlier = firstIndex.get(rule.name);
    if (earlier === undefined) {
      firstIndex.set(rule.name, index);
    } else {
      const where = rules[earlier]?.line ? ` on line ${rules[earlier]?.line}` : '';
      problems.errors.push({
        index,
        field: 'name',
        message: `duplicate rule name "${rule.name}" (first used by rules[${earlier}]${where})`,
      });
    }

    if (!metrics.includes(rule.metric)) {
      problems.errors.push({
        index,
        field: 'metric',
        message: `unknown metric "${rule.metric}"; the metrics are ${list(metrics)}`,
      });
    } else if (!context.reader.supports(rule.metric, rule.aggregation)) {
      problems.errors.push({
        index,
        field: 'aggregation',
        message: `metric "${rule.metric}" does not support "${rule.aggregation}"`,
      });
    }

    const seen = new Set<string>();
    for (const [entry, channel] of rule.channels.entries()) {
      if (seen.has(channel)) {
        problems.errors.push({ index, field: 'channels', entry, message: `"${channel}" twice` });
      }
      seen.add(channel);
      if (channels.has(channel)) continue;
      const configured =
        channels.size === 0 ? 'no channels are configured' : `configured: ${list([...channels])}`;
      problems.unknownChannels.push({
        index,
        field: 'channels',
        entry,
        message: `unknown channel "${channel}" (${configured} under alerts.channels)`,
      });
    }

    if (rule.everyMs > rule.windowMs) {
      problems.warnings.push({
        index,
        field: 'every',
        message:
          `every (${formatDuration(rule.everyMs)}) is longer than window ` +
          `(${formatDuration(rule.windowMs)}): samples between windows are never evaluated`,
      });
    }
    if (rule.channels.length === 0) {
      problems.warnings.push({
        index,
        field: 'channels',
        message: 'no channels: the state shows in GET /admin/alerts but nothing is sent',
      });
    }
  }
  return problems;
}
