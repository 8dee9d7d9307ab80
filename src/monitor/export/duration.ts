const day = 86_400_000;

// Largest first, as Prometheus prints durations itself (`model.Duration.String()`).
const units: ReadonlyArray<[string, number]> = [
  ['y', 365 * day],
  ['w', 7 * day],
  ['d', day],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/**
 * Milliseconds in Prometheus duration form, composed the way Prometheus prints them: `1m`, `5m`,
 * `1m30s`, `1h30m`, `0s`. The form also matches the Prometheus Operator's `Duration` pattern, so
 * it can go into a PrometheusRule's `for:` as is. Only whole, non-negative milliseconds have one.
 */
export function prometheusDuration(ms: number): string | undefined {
  if (!Number.isSafeInteger(ms) || ms < 0) return undefined;
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    if (rest < size) continue;
    text += `${Math.floor(rest / size)}${unit}`;
    rest %= size;
  }
  return text;
}

// A literal range: Grafana's interval variables, or a duration already in Prometheus form.
const grafanaRanges = new Set(['$__rate_interval', '$__interval', '$__range']);
const durationPattern = /^(?:\d+(?:ms|[ywdhms]))+$/;

/**
 * Whether `text` can stand as the range of a selector (`x[...]`): one of Grafana's interval
 * variables, or a Prometheus duration above zero.
 */
export function isLiteralRange(text: string): boolean {
  return grafanaRanges.has(text) || (durationPattern.test(text) && /[1-9]/.test(text));
}
