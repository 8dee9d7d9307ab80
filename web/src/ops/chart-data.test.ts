import { describe, expect, it } from 'vitest';
import type { SeriesResponse } from '../api/metrics';
import { allSeriesKeys, chartSpecs, chartValues, formatValue, latestValue } from './chart-data';
import { chartRanges, isChartRange, stepFor } from './chart-range';

function response(series: SeriesResponse['series']): SeriesResponse {
  return {
    object: 'metric_series',
    resolution_ms: 10_000,
    step_ms: 10_000,
    from: 0,
    to: 30_000,
    series,
  };
}

const latency = chartSpecs.find((spec) => spec.id === 'latency')!;
const requests = chartSpecs.find((spec) => spec.id === 'requests')!;

describe('chartValues', () => {
  it('aligns the series of one chart on their slots, in seconds, with nulls as gaps', () => {
    const values = chartValues(
      response([
        {
          metric: 'request_latency_ms',
          aggregation: 'p50',
          help: '',
          points: [
            [20_000, 12],
            [10_000, null],
          ],
        },
        {
          metric: 'request_latency_ms',
          aggregation: 'p99',
          help: '',
          points: [
            [10_000, 40],
            [30_000, 90],
          ],
        },
        { metric: 'cpu_percent', aggregation: 'avg', help: '', points: [[10_000, 5]] },
      ]),
      latency,
    );
    expect(values.data).toEqual([
      [10, 20, 30],
      [null, 12, null],
      [40, null, 90],
    ]);
    expect(values.hasData).toBe(true);
  });

  it('has no data when every value is null, the series is missing or there is no response', () => {
    const allNull = chartValues(
      response([
        {
          metric: 'requests_per_second',
          aggregation: 'avg',
          help: '',
          points: [
            [0, null],
            [10_000, null],
          ],
        },
      ]),
      requests,
    );
    expect(allNull).toEqual({
      data: [
        [0, 10],
        [null, null],
      ],
      hasData: false,
    });
    expect(chartValues(response([]), requests)).toEqual({ data: [[], []], hasData: false });
    expect(chartValues(undefined, latency)).toEqual({ data: [[], [], []], hasData: false });
  });

  it('turns non-finite values into gaps', () => {
    const values = chartValues(
      response([
        {
          metric: 'requests_per_second',
          aggregation: 'avg',
          help: '',
          points: [[0, Number.NaN]],
        },
      ]),
      requests,
    );
    expect(values.data[1]).toEqual([null]);
  });

  it("asks for the server's default series, once each", () => {
    expect(allSeriesKeys()).toEqual([
      'requests_per_second:avg',
      'request_latency_ms:p50',
      'request_latency_ms:p99',
      'error_rate_percent:avg',
      'cpu_percent:avg',
      'tokens_per_second:avg',
      'cache_hit_rate_percent:avg',
      'batch_occupancy_percent:avg',
    ]);
  });
});

describe('latestValue', () => {
  it('skips trailing gaps', () => {
    expect(latestValue([1, 2, null])).toBe(2);
    expect(latestValue([null, null])).toBeNull();
    expect(latestValue([])).toBeNull();
  });
});

describe('formatValue', () => {
  it('keeps a few significant digits', () => {
    expect(formatValue(1234.5)).toBe('1235');
    expect(formatValue(12.345)).toBe('12.3');
    expect(formatValue(0.12345)).toBe('0.123');
    expect(formatValue(null)).toBe('–');
  });
});

describe('chart ranges', () => {
  it('picks a step giving at most a few hundred points, within the server cap of 1000', () => {
    const seconds = (text: string) =>
      Number(text.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[text.slice(-1) as 's' | 'm' | 'h'];
    for (const range of chartRanges) {
      const points = seconds(range.value) / seconds(stepFor(range.value));
      expect(points, range.value).toBeGreaterThanOrEqual(60);
      expect(points, range.value).toBeLessThanOrEqual(300);
    }
    expect(isChartRange('6h')).toBe(true);
    expect(isChartRange('7d')).toBe(false);
  });
});
