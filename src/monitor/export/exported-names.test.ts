import { idleMetricSources } from '../../../test/support/metric-sources.js';
import { describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../metrics.js';
import { aggregationsFor, seriesDefinitions, type SeriesName } from '../series.js';
import { grafanaDashboard } from './grafana.js';
import { promqlFor } from './promql.js';

/** The metric names a scrape of this server holds (histograms as their three series). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new PrometheusMetrics(
    idleMetricSources({
      cache: () => ({ hits: 3, misses: 1, evictions: 0, expirations: 0 }),
      engines: () => [{ model: 'local', busy: 1, queued: 2, capacity: 4 }],
      systemCpu: () => 0.5,
      logShipping: () => ({ shipped: 2, failures: 0, oldestUnshippedAt: undefined }),
    }),
  );
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    } else {
      names.add(metric.name);
    }
  }
  return names;
}

/**
 * The metric names an expression selects: what remains once label matchers, ranges and grouping
 * labels are removed, less function names (followed by `(`) and set operators.
 */
function selectedNames(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|on)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)) {
    const after = stripped.slice(match.index + match[0].length).trimStart();
    if (after.startsWith('(') || ['and', 'or', 'unless'].includes(match[0])) continue;
    names.push(match[0]);
  }
  return names;
}

describe('exported expressions', () => {
  it('select only metrics the server exports', async () => {
    const expressions: string[] = [];
    for (const metric of Object.keys(seriesDefinitions) as SeriesName[]) {
      for (const aggregation of aggregationsFor(metric)) {
        for (const window of [60_000, 3_600_000, '$__rate_interval']) {
          const expr = promqlFor(metric, aggregation, window);
          if (expr !== undefined) expressions.push(expr);
        }
      }
    }
    for (const panel of grafanaDashboard().panels) {
      expressions.push(...panel.targets.map((target) => target.expr));
    }
    const exported = await exportedNames();
    expect(exported).toContain('nodejs_eventloop_lag_p99_seconds');
    const used = new Set(expressions.flatMap(selectedNames));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('finds the names in an expression', () => {
    expect(
      selectedNames(
        '1000 * (min_over_time(nodejs_eventloop_lag_p99_seconds[1m]) and on (instance) ' +
          'assistd_system_cpu_utilisation_ratio) > 1e+21',
      ),
    ).toEqual(['nodejs_eventloop_lag_p99_seconds', 'assistd_system_cpu_utilisation_ratio']);
  });
});
