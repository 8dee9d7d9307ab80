import type { MetricSources } from '../../src/monitor/metrics.js';

/** What the metrics read from a server that has nothing going on; tests override what they need. */
export function idleMetricSources(overrides: Partial<MetricSources> = {}): MetricSources {
  return {
    cache: () => ({ hits: 0, misses: 0, evictions: 0, expirations: 0 }),
    engines: () => [],
    auditWriteFailures: () => 0,
    auditThreadBatches: () => 0,
    redis: () => undefined,
    systemCpu: () => undefined,
    logShipping: () => undefined,
    ...overrides,
  };
}
