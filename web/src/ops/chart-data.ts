import type { SeriesResponse } from '../api/metrics';

/** One chart: its title and the `metric:aggregation` series it draws. */
export interface ChartSpec {
  id: string;
  title: string;
  series: ReadonlyArray<{ key: string; label: string }>;
}

/** The server's default series (src/http/routes/metrics.ts `defaultSeries`), as charts. */
export const chartSpecs: readonly ChartSpec[] = [
  {
    id: 'requests',
    title: 'Requests/s',
    series: [{ key: 'requests_per_second:avg', label: 'Requests/s' }],
  },
  {
    id: 'latency',
    title: 'Latency P50 and P99 (ms)',
    series: [
      { key: 'request_latency_ms:p50', label: 'P50' },
      { key: 'request_latency_ms:p99', label: 'P99' },
    ],
  },
  {
    id: 'errors',
    title: 'Error rate (%)',
    series: [{ key: 'error_rate_percent:avg', label: 'Error rate' }],
  },
  { id: 'cpu', title: 'CPU (%)', series: [{ key: 'cpu_percent:avg', label: 'CPU' }] },
  {
    id: 'tokens',
    title: 'Tokens/s',
    series: [{ key: 'tokens_per_second:avg', label: 'Tokens/s' }],
  },
  {
    id: 'cache',
    title: 'Context-cache hit rate (%)',
    series: [{ key: 'cache_hit_rate_percent:avg', label: 'Hit rate' }],
  },
  {
    id: 'batch',
    title: 'Batch occupancy (%)',
    series: [{ key: 'batch_occupancy_percent:avg', label: 'Occupancy' }],
  },
];

/** Every series the charts draw, for one request. */
export function allSeriesKeys(specs: readonly ChartSpec[] = chartSpecs): string[] {
  return [...new Set(specs.flatMap((spec) => spec.series.map((series) => series.key)))];
}

/** uPlot's aligned data: x in seconds, then one array per series; null is a gap. */
export type ChartData = [number[], ...Array<Array<number | null>>];

export interface ChartValues {
  data: ChartData;
  /** At least one non-null value: the chart has something to show. */
  hasData: boolean;
}

/**
 * The chart's columns from the response: the union of the slot starts of its series (ms → s,
 * ascending), each series' value at that slot or null. A series missing from the response, a
 * slot it lacks and a non-finite value are gaps.
 */
export function chartValues(response: SeriesResponse | undefined, spec: ChartSpec): ChartValues {
  const byKey = new Map(
    (response?.series ?? []).map((series) => [
      `${series.metric}:${series.aggregation}`,
      series.points,
    ]),
  );
  const columns = spec.series.map((series) => {
    const values = new Map<number, number | null>();
    for (const point of byKey.get(series.key) ?? []) {
      const [at, value] = point;
      if (typeof at !== 'number' || !Number.isFinite(at)) continue;
      values.set(at, typeof value === 'number' && Number.isFinite(value) ? value : null);
    }
    return values;
  });
  const times = [...new Set(columns.flatMap((values) => [...values.keys()]))].sort((a, b) => a - b);
  const ys = columns.map((values) => times.map((at) => values.get(at) ?? null));
  const hasData = ys.some((column) => column.some((value) => value !== null));
  return { data: [times.map((at) => at / 1000), ...ys], hasData };
}

/** A value for the legend and tooltips: at most 3 significant decimals, "–" for a gap. */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(value.toFixed(digits)));
}

/** The newest non-null value of a column, for the chart's "Latest" line. */
export function latestValue(column: ReadonlyArray<number | null>): number | null {
  for (let index = column.length - 1; index >= 0; index--) {
    const value = column[index];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}
