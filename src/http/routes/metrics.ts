import type { FastifyInstance } from 'fastify';
import * as z from '../../util/zod.js';
import { AppError } from '../../errors.js';
import type { Monitor } from '../../monitor/monitor.js';
import { aggregationsFor, seriesDefinitions, type SeriesName } from '../../monitor/series.js';
import type { Aggregation } from '../../monitor/types.js';
import { parseDuration } from '../../util/duration.js';
import { parseValue } from '../validate.js';

/** Points one series may return at most; a finer step over a long range is coarsened. */
const maxPoints = 1000;

/** What the console charts when the caller names no series. */
export const defaultSeries: ReadonlyArray<readonly [SeriesName, Aggregation]> = [
  ['requests_per_second', 'avg'],
  ['request_latency_ms', 'p50'],
  ['request_latency_ms', 'p99'],
  ['error_rate_percent', 'avg'],
  ['cpu_percent', 'avg'],
  ['tokens_per_second', 'avg'],
  ['cache_hit_rate_percent', 'avg'],
  ['batch_occupancy_percent', 'avg'],
];

const duration = (field: string) =>
  z
    .string()
    .refine((text) => parseDuration(text) !== undefined, {
      message: `${field} must be a duration such as 10s, 15m, 6h or 1d`,
    })
    .transform((text) => parseDuration(text)!);

const seriesQuerySchema = z.strictObject({
  /** `metric:aggregation` pairs, comma-separated, e.g. `request_latency_ms:p99,cpu_percent:max`. */
  series: z.string().max(2000).optional(),
  range: duration('range').default(3_600_000),
  step: duration('step').optional(),
});

/** `GET /metrics` (Prometheus text) on the main port. */
export function prometheusRoute(app: FastifyInstance, monitor: Monitor): void {
  app.get('/metrics', async (_request, reply) => {
    const { body, contentType } = await monitor.prometheus.scrape();
    return reply.header('content-type', contentType).send(body);
  });
}

/**
 * `GET /admin/metrics/series`: points of the in-process time series for charts, oldest first,
 * `[slot start ms, value or null]`, over `range` (default 1h) at `step` (default: the resolution,
 * coarsened to at most 1,000 points).
 */
export function seriesRoute(app: FastifyInstance, monitor: Monitor): void {
  app.get('/admin/metrics/series', async (request) => {
    const query = parseValue(seriesQuerySchema, request.query);
    const { series } = monitor;
    const wanted = query.series === undefined ? defaultSeries : parseSeriesList(query.series);
    const range = Math.min(query.range, series.capacity * series.resolutionMs);
    // A whole number of slots, coarse enough for at most `maxPoints` points.
    const slots = Math.max(
      Math.round((query.step ?? series.resolutionMs) / series.resolutionMs),
      Math.ceil(range / maxPoints / series.resolutionMs),
      1,
    );
    const step = slots * series.resolutionMs;
    const now = series.now();
    return {
      object: 'metric_series',
      resolution_ms: series.resolutionMs,
      step_ms: step,
      from: now - range,
      to: now,
      series: wanted.map(([metric, aggregation]) => ({
        metric,
        aggregation,
        help: seriesDefinitions[metric].help,
        points: series.range(metric, aggregation, now - range, now, step),
      })),
    };
  });
}

function parseSeriesList(text: string): Array<[SeriesName, Aggregation]> {
  return text
    .split(',')
    .filter((item) => item.trim() !== '')
    .map((item) => {
      const [metric = '', aggregation = 'avg'] = item.trim().split(':');
      if (!Object.hasOwn(seriesDefinitions, metric)) {
        throw new AppError(
          'invalid_request',
          `Unknown series "${metric}"; known: ${Object.keys(seriesDefinitions).join(', ')}.`,
          { param: 'series' },
        );
      }
      const name = metric as SeriesName;
      const allowed = aggregationsFor(name);
      if (!allowed.includes(aggregation as Aggregation)) {
        throw new AppError(
          'invalid_request',
          `Series "${metric}" takes the aggregations ${allowed.join(', ')}, not "${aggregation}".`,
          { param: 'series' },
        );
      }
      return [name, aggregation as Aggregation];
    });
}
