import { formatDuration, negate, type AlertRule } from './rule.js';

// Units read off the metric's name, the Prometheus way (`_ms`, `_percent`): the MetricReader
// seam carries no unit, and a message saying "2350 > 2000" leaves the reader guessing.
const unitSuffixes: ReadonlyArray<[string, string]> = [
  ['_ms', ' ms'],
  ['_milliseconds', ' ms'],
  ['_seconds', ' s'],
  ['_percent', ' %'],
  ['_bytes', ' bytes'],
];

function unitOf(metric: string): string {
  return unitSuffixes.find(([suffix]) => metric.endsWith(suffix))?.[1] ?? '';
}

/** At most two decimals, no trailing zeros: 2350, 85.5, 0.33. */
function formatNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/**
 * The one line an alert carries, e.g. `P99 latency 2350 ms > 2000 ms over 5m`; a resolution
 * states the opposite comparison (`P99 latency 1200 ms <= 2000 ms over 5m`).
 */
export function summaryLine(
  rule: AlertRule,
  status: 'firing' | 'resolved',
  value: number | undefined,
): string {
  const title = rule.summary ?? `${rule.aggregation} ${rule.metric}`;
  const unit = unitOf(rule.metric);
  const comparison = status === 'firing' ? rule.comparison : negate(rule.comparison);
  const shown = value === undefined ? 'no data' : `${formatNumber(value)}${unit}`;
  return `${title} ${shown} ${comparison} ${formatNumber(rule.threshold)}${unit} over ${formatDuration(rule.windowMs)}`;
}
