import { describe, expect, it } from 'vitest';
import { aggregationsFor, seriesDefinitions, type SeriesName } from '../series.js';
import { isLiteralRange, prometheusDuration } from './duration.js';
import { promqlFor, translateSeries } from './promql.js';

const minute = 60_000;

describe('prometheusDuration', () => {
  it('composes units largest first, as Prometheus prints durations', () => {
    expect(prometheusDuration(0)).toBe('0s');
    expect(prometheusDuration(minute)).toBe('1m');
    expect(prometheusDuration(5 * minute)).toBe('5m');
    expect(prometheusDuration(90_000)).toBe('1m30s');
    expect(prometheusDuration(90 * minute)).toBe('1h30m');
    expect(prometheusDuration(86_400_000 + 1500)).toBe('1d1s500ms');
    expect(prometheusDuration(7 * 86_400_000)).toBe('1w');
    expect(prometheusDuration(-1)).toBeUndefined();
    expect(prometheusDuration(1.5)).toBeUndefined();
  });

  it('accepts Grafana interval variables and Prometheus durations as literal ranges', () => {
    for (const range of ['$__rate_interval', '$__interval', '5m', '1h30m', '500ms']) {
      expect(isLiteralRange(range)).toBe(true);
    }
    for (const range of ['', '0s', '5', '5 m', '$__rate_interval]', 'x[5m]']) {
      expect(isLiteralRange(range)).toBe(false);
    }
  });
});

describe('promqlFor', () => {
  it('translates the three default rules', () => {
    expect(promqlFor('cpu_percent', 'avg', minute)).toBe(
      '100 * avg_over_time(assistd_system_cpu_utilisation_ratio[1m])',
    );
    expect(promqlFor('request_latency_ms', 'p99', 5 * minute)).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) ' +
        '(rate(assistd_http_request_duration_seconds_bucket[5m])))',
    );
    expect(promqlFor('error_rate_percent', 'avg', 10 * minute)).toBe(
      '100 * (sum(rate(assistd_http_requests_total{status=~"5.."}[10m])) or vector(0)) / ' +
        'sum(rate(assistd_http_requests_total[10m]))',
    );
  });

  it('translates histograms: quantiles from merged buckets, the mean from _sum and _count', () => {
    expect(promqlFor('ttft_ms', 'p50', 90 * minute)).toBe(
      '1000 * histogram_quantile(0.5, sum by (le) ' +
        '(rate(assistd_time_to_first_token_seconds_bucket[1h30m])))',
    );
    expect(promqlFor('request_latency_ms', 'avg', 5 * minute)).toBe(
      '1000 * sum(rate(assistd_http_request_duration_seconds_sum[5m])) / ' +
        'sum(rate(assistd_http_request_duration_seconds_count[5m]))',
    );
  });

  it('reads gauges per instance: *_over_time, and the plain gauge for last', () => {
    expect(promqlFor('cpu_percent', 'max', 90_000)).toBe(
      '100 * max_over_time(assistd_system_cpu_utilisation_ratio[1m30s])',
    );
    expect(promqlFor('cpu_percent', 'last', 5 * minute)).toBe(
      '100 * assistd_system_cpu_utilisation_ratio',
    );
    expect(promqlFor('event_loop_lag_ms', 'min', minute)).toBe(
      '1000 * (min_over_time(nodejs_eventloop_lag_p99_seconds[1m]) ' +
        'and on (instance) assistd_system_cpu_utilisation_ratio)',
    );
    expect(promqlFor('memory_rss_bytes', 'last', minute)).toBe(
      '(process_resident_memory_bytes and on (instance) assistd_system_cpu_utilisation_ratio)',
    );
    expect(promqlFor('batch_occupancy_percent', 'avg', 5 * minute)).toBe(
      '100 * avg_over_time((sum by (instance) (assistd_local_engine_active_sequences) / ' +
        'sum by (instance) (assistd_local_engine_max_sequences))[5m:10s])',
    );
    expect(promqlFor('queue_depth', 'last', minute)).toBe(
      'sum by (instance) (assistd_local_engine_queue_depth)',
    );
  });

  it('reads rates service-wide, with min/max over a 10 s subquery', () => {
    expect(promqlFor('requests_per_second', 'avg', 5 * minute)).toBe(
      '(sum(rate(assistd_http_requests_total[5m])) or vector(0))',
    );
    expect(promqlFor('tokens_per_second', 'max', 15 * minute)).toBe(
      'max_over_time((sum(rate(assistd_tokens_total{direction="out"}[1m])) or vector(0))' +
        '[15m:10s])',
    );
    expect(promqlFor('errors_per_second', 'last', 30_000)).toBe(
      '(sum(rate(assistd_http_requests_total{status=~"5.."}[1m])) or vector(0))',
    );
    expect(promqlFor('cache_hit_rate_percent', 'avg', 5 * minute)).toBe(
      '100 * sum(rate(assistd_context_cache_events_total{event="hit"}[5m])) / ' +
        'sum(rate(assistd_context_cache_events_total{event=~"hit|miss"}[5m]))',
    );
  });

  it('takes a literal window for Grafana', () => {
    expect(promqlFor('request_latency_ms', 'p99', '$__rate_interval')).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) ' +
        '(rate(assistd_http_request_duration_seconds_bucket[$__rate_interval])))',
    );
    expect(promqlFor('cpu_percent', 'avg', '1h')).toBe(
      '100 * avg_over_time(assistd_system_cpu_utilisation_ratio[1h])',
    );
  });

  it('gives a reason instead of an expression where none is faithful', () => {
    const reasons: Array<[string, Parameters<typeof promqlFor>]> = [
      ['no series named', ['cpu', 'avg', minute]],
      ['has no p99', ['cpu_percent', 'p99', minute]],
      ['has no max', ['error_rate_percent', 'max', minute]],
      ['CPU count', ['process_cpu_percent', 'avg', minute]],
      ['not a duration', ['cpu_percent', 'avg', 0]],
      ['not a duration', ['cpu_percent', 'avg', 1.5]],
      ['not a duration', ['cpu_percent', 'avg', '5m]) or vector(1']],
      ['two scrapes', ['request_latency_ms', 'p99', 30_000]],
      ['two scrapes', ['requests_per_second', 'max', 10_000]],
    ];
    for (const [reason, [metric, aggregation, window]] of reasons) {
      const translation = translateSeries(metric, aggregation, window);
      expect(translation.ok, `${metric} ${aggregation} ${window}`).toBe(false);
      if (!translation.ok) expect(translation.reason).toContain(reason);
      expect(promqlFor(metric, aggregation, window)).toBeUndefined();
    }
  });

  it('translates every series and aggregation the time series supports, but process CPU', () => {
    for (const metric of Object.keys(seriesDefinitions) as SeriesName[]) {
      for (const aggregation of aggregationsFor(metric)) {
        const expr = promqlFor(metric, aggregation, 5 * minute);
        if (metric === 'process_cpu_percent') expect(expr).toBeUndefined();
        else expect(expr, `${metric} ${aggregation}`).toMatch(/\S/);
      }
    }
  });
});
