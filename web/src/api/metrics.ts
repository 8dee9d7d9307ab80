import type { ApiClient } from './client';

/** `[slot start ms, value]`; null: nothing was recorded in that slot. */
export type SeriesPoint = [number, number | null];

export interface MetricSeries {
  metric: string;
  aggregation: string;
  help: string;
  points: SeriesPoint[];
}

/** `GET /admin/metrics/series` (src/http/routes/metrics.ts). */
export interface SeriesResponse {
  object: 'metric_series';
  resolution_ms: number;
  step_ms: number;
  from: number;
  to: number;
  series: MetricSeries[];
}

/** `series` are `metric:aggregation` keys; range and step are durations such as `15m`, `10s`. */
export async function fetchSeries(
  api: ApiClient,
  query: { series: readonly string[]; range: string; step: string },
  signal?: AbortSignal,
): Promise<SeriesResponse> {
  const params = new URLSearchParams({
    series: query.series.join(','),
    range: query.range,
    step: query.step,
  });
  const body = (await api.json(`/admin/metrics/series?${params.toString()}`, {
    signal,
  })) as SeriesResponse;
  return { ...body, series: Array.isArray(body.series) ? body.series : [] };
}
