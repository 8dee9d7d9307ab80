import { aggregationsFor, seriesDefinitions, type SeriesName } from '../series.js';
import type { Aggregation } from '../types.js';
import { isLiteralRange, prometheusDuration } from './duration.js';

/**
 * The window of a translation: milliseconds (a rule's window), or a literal range used as is, such
 * as `$__rate_interval` in a Grafana panel or a Prometheus duration (`5m`).
 */
export type Window = number | string;

/**
 * Where a series is read. `service`: summed over every instance, as a user sees the service
 * (requests, latency, errors, tokens, cache: a load balancer spreads them, so one instance's share
 * says little). `instance`: one result per scraped instance, each keeping its target labels (pod,
 * namespace), because a saturated machine or a blocked event loop is one pod's problem that an
 * average over pods would hide (CPU, memory, event loop, local engine).
 */
export type Scope = 'service' | 'instance';

/** A series translated to PromQL, or the reason it cannot be. */
export type Translation = { ok: true; expr: string; scope: Scope } | { ok: false; reason: string };

interface Translator {
  scope: Scope;
  /** Reads counters or histograms with `rate()`, which needs two scrapes inside its range. */
  usesRate: boolean;
  /** `range` is a valid Prometheus range (or Grafana variable) for the window. */
  build(aggregation: Aggregation, range: string): string;
}

/** Subquery resolution for min/max of a computed value: the in-process slot width. */
const step = '10s';
/**
 * The shortest range given to `rate()`: two scrapes at the usual 30 s interval. Rules with a
 * shorter window are skipped rather than exported as a query that never returns data; it is also
 * the range behind min/max/last of a rate (the per-slot rate Prometheus cannot resolve finer).
 */
const rateFloorMs = 60_000;
const rateFloor = '1m';
/**
 * Present on every assistd target from its first scrape (prom-client exports an unlabelled gauge
 * at 0 until set). prom-client's `process_*` and `nodejs_*` metrics carry no prefix, so every
 * Node.js service in the cluster exports them; `and on (instance) <marker>` keeps only assistd's.
 */
const marker = 'assistd_system_cpu_utilisation_ratio';
const quantiles: Partial<Record<Aggregation, string>> = {
  p50: '0.5',
  p90: '0.9',
  p95: '0.95',
  p99: '0.99',
};

function scaled(scale: number, expr: string): string {
  return scale === 1 ? expr : `${scale} * ${expr}`;
}

/** A gauge read from one metric (one series per instance): `*_over_time` over it directly. */
function gaugeOf(metric: string, scale: number, foreign = false): Translator {
  return {
    scope: 'instance',
    usesRate: false,
    build(aggregation, range) {
      let expr = aggregation === 'last' ? metric : `${aggregation}_over_time(${metric}[${range}])`;
      if (foreign) expr = `(${expr} and on (instance) ${marker})`;
      return scaled(scale, expr);
    },
  };
}

/** A gauge computed per instance from labelled metrics: min/avg/max via a subquery. */
function computedGauge(expr: string, scale: number): Translator {
  return {
    scope: 'instance',
    usesRate: false,
    build(aggregation, range) {
      if (aggregation === 'last') return scaled(scale, expr);
      return scaled(scale, `${aggregation}_over_time((${expr})[${range}:${step}])`);
    },
  };
}

// `or vector(0)`: a counter with no increments yet has no series, where the in-process series
// reads 0 per second (and an error ratio 0 %); without it a `<` rule could never fire.
function serviceRate(selector: string, range: string): string {
  return `(sum(rate(${selector}[${range}])) or vector(0))`;
}

function rateOf(selector: string): Translator {
  return {
    scope: 'service',
    usesRate: true,
    build(aggregation, range) {
      if (aggregation === 'avg') return serviceRate(selector, range);
      if (aggregation === 'last') return serviceRate(selector, rateFloor);
      return `${aggregation}_over_time(${serviceRate(selector, rateFloor)}[${range}:${step}])`;
    },
  };
}

function ratioOf(part: string, whole: string, zeroWhenNone: boolean): Translator {
  return {
    scope: 'service',
    usesRate: true,
    build(_aggregation, range) {
      const numerator = zeroWhenNone ? serviceRate(part, range) : `sum(rate(${part}[${range}]))`;
      return `100 * ${numerator} / sum(rate(${whole}[${range}]))`;
    },
  };
}

/** Series in ms from a histogram in seconds; quantiles merge buckets across instances. */
function histogramOf(base: string): Translator {
  return {
    scope: 'service',
    usesRate: true,
    build(aggregation, range) {
      const q = quantiles[aggregation];
      if (q !== undefined) {
        return `1000 * histogram_quantile(${q}, sum by (le) (rate(${base}_bucket[${range}])))`;
      }
      return `1000 * sum(rate(${base}_sum[${range}])) / sum(rate(${base}_count[${range}]))`;
    },
  };
}

const requests = 'assistd_http_requests_total';
const serverErrors = `${requests}{status=~"5.."}`;

// A string: why the series has no PromQL equivalent. Keyed by every series, so a new series does
// not compile until someone decides how it exports.
const translators: Record<SeriesName, Translator | string> = {
  cpu_percent: gaugeOf(marker, 100),
  process_cpu_percent:
    'no exported metric holds the machine’s CPU count, so process CPU cannot be read as % of all CPUs',
  memory_rss_bytes: gaugeOf('process_resident_memory_bytes', 1, true),
  event_loop_lag_ms: gaugeOf('nodejs_eventloop_lag_p99_seconds', 1000, true),
  batch_occupancy_percent: computedGauge(
    'sum by (instance) (assistd_local_engine_active_sequences) / ' +
      'sum by (instance) (assistd_local_engine_max_sequences)',
    100,
  ),
  queue_depth: computedGauge('sum by (instance) (assistd_local_engine_queue_depth)', 1),
  requests_per_second: rateOf(requests),
  errors_per_second: rateOf(serverErrors),
  tokens_per_second: rateOf('assistd_tokens_total{direction="out"}'),
  error_rate_percent: ratioOf(serverErrors, requests, true),
  cache_hit_rate_percent: ratioOf(
    'assistd_context_cache_events_total{event="hit"}',
    'assistd_context_cache_events_total{event=~"hit|miss"}',
    false,
  ),
  request_latency_ms: histogramOf('assistd_http_request_duration_seconds'),
  ttft_ms: histogramOf('assistd_time_to_first_token_seconds'),
};

function isSeries(metric: string): metric is SeriesName {
  return Object.hasOwn(seriesDefinitions, metric);
}

/**
 * Translates a series of the in-process time series, reduced by `aggregation` over `window`, into
 * PromQL over the metrics `GET /metrics` exports, in the series' own units (ms, %, bytes, per
 * second). The expression can take a comparison appended (`<expr> > 2000`) without parentheses.
 */
export function translateSeries(
  metric: string,
  aggregation: Aggregation,
  window: Window,
): Translation {
  if (!isSeries(metric)) return { ok: false, reason: `no series named "${metric}"` };
  const supported = aggregationsFor(metric);
  if (!supported.includes(aggregation)) {
    return {
      ok: false,
      reason: `${metric} has no ${aggregation} (it has ${supported.join(', ')})`,
    };
  }
  const translator = translators[metric];
  if (typeof translator === 'string') return { ok: false, reason: translator };
  let range: string | undefined;
  if (typeof window === 'string') {
    range = isLiteralRange(window) ? window : undefined;
  } else if (window > 0) {
    range = prometheusDuration(window);
  }
  if (range === undefined) {
    return { ok: false, reason: `window ${String(window)} is not a duration above zero` };
  }
  if (
    translator.usesRate &&
    aggregation !== 'last' &&
    typeof window === 'number' &&
    window < rateFloorMs
  ) {
    return {
      ok: false,
      reason: `window ${range} is shorter than ${rateFloor}: rate() needs two scrapes in its range`,
    };
  }
  return { ok: true, expr: translator.build(aggregation, range), scope: translator.scope };
}

/** The PromQL for a series, or undefined where `translateSeries` gives a reason instead. */
export function promqlFor(
  metric: string,
  aggregation: Aggregation,
  window: Window,
): string | undefined {
  const translation = translateSeries(metric, aggregation, window);
  return translation.ok ? translation.expr : undefined;
}
