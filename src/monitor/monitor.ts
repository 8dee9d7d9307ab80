import type { Config } from '../config/schema.js';
import type { SharedRedis } from '../cache/redis.js';
import type { ConversationCache } from '../dialog/context-cache.js';
import { LlamaCppModel } from '../providers/llama-cpp/model.js';
import type { ModelRegistry } from '../providers/registry.js';
import type { ChatModel } from '../providers/types.js';
import type { Clock } from '../util/ids.js';
import { InstrumentedModel } from './instrumented-model.js';
import { PrometheusMetrics, type LogShippingState, type MetricSources } from './metrics.js';
import { Sampler } from './sampler.js';
import { TimeSeries } from './series.js';

export interface MonitorOptions {
  /** Width of a time-series slot and the sampling period, ms (default 10 s). */
  resolutionMs: number;
  /** How far back the time series reach, ms (default 24 h). */
  retentionMs: number;
  clock?: Clock;
}

/** The monitor `metrics.*` asks for; undefined when `metrics.enabled` is false. */
export function openMonitor(config: Readonly<Config>): Monitor | undefined {
  if (!config.metrics.enabled) return undefined;
  return new Monitor({
    resolutionMs: config.metrics.series_resolution_seconds * 1000,
    retentionMs: config.metrics.series_retention_hours * 3_600_000,
  });
}

/** The components the monitor reads, known once the server has built them. */
export interface Monitored {
  models: ModelRegistry;
  cache: ConversationCache;
  auditWriteFailures: () => number;
  /** Audit batches appended from the writer thread (0 without one). */
  auditThreadBatches?: () => number;
  redis?: SharedRedis | undefined;
  /** The conversation-log shipper (log_shipping.enabled). */
  logShipping?: LogShippingState | undefined;
}

/**
 * Metrics and time series for one server: the Prometheus registry (`/metrics`), the in-process
 * time series (`/admin/metrics/series`, the alert engine) and the sampler that feeds the gauges.
 * The request path calls `observeRequest` (plugins/metrics.ts) and the models are wrapped by
 * `instrument`; everything else is read on a timer or when scraped.
 */
export class Monitor {
  readonly series: TimeSeries;
  readonly prometheus: PrometheusMetrics;
  private readonly sampler: Sampler;
  private monitored: Monitored | undefined;

  constructor(options: MonitorOptions) {
    this.series = new TimeSeries({
      resolutionMs: options.resolutionMs,
      retentionMs: options.retentionMs,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const sources: MetricSources = {
      cache: () =>
        this.monitored?.cache.stats() ?? { hits: 0, misses: 0, evictions: 0, expirations: 0 },
      engines: () => this.engines(),
      auditWriteFailures: () => this.monitored?.auditWriteFailures() ?? 0,
      auditThreadBatches: () => this.monitored?.auditThreadBatches?.() ?? 0,
      redis: () => this.monitored?.redis,
      systemCpu: () => this.sampler.systemCpu,
      logShipping: () => this.monitored?.logShipping,
    };
    this.prometheus = new PrometheusMetrics(sources);
    this.sampler = new Sampler({ series: this.series, sources, everyMs: options.resolutionMs });
  }

  /** Wraps a model so its calls are measured (BuildModelsOptions.wrap). */
  instrument = (model: ChatModel): ChatModel =>
    new InstrumentedModel(model, this.prometheus, this.series);

  /** Starts sampling the components the server built. */
  start(monitored: Monitored): void {
    this.monitored = monitored;
    this.sampler.start();
  }

  /** `durationMs`: until the response headers left. A 5xx status counts as an error. */
  observeRequest(route: string, method: string, status: number, durationMs: number): void {
    this.prometheus.observeRequest(route, method, status, durationMs / 1000);
    this.series.recordRequest(durationMs, status >= 500);
  }

  observeStoreWrite(operation: string, ms: number): void {
    this.prometheus.observeStoreWrite(operation, ms / 1000);
  }

  observeAuditWrite(ms: number): void {
    this.prometheus.observeAuditWrite(ms / 1000);
  }

  stop(): void {
    this.sampler.stop();
  }

  private engines(): Array<{ model: string; busy: number; queued: number; capacity: number }> {
    const engines = [];
    for (const model of this.monitored?.models.all() ?? []) {
      const inner = model instanceof InstrumentedModel ? model.measured : model;
      if (!(inner instanceof LlamaCppModel)) continue;
      const stats = inner.stats();
      engines.push({
        model: inner.id,
        busy: stats.busy,
        queued: stats.queued,
        capacity: inner.maxBatchSize,
      });
    }
    return engines;
  }
}
