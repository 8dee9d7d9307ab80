import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { droppedLogLines } from '../logger.js';

/**
 * Seconds. prom-client's default buckets stop at 10 s and have no 2 s edge; the runbook's alert
 * is "P99 > 2000 ms", so 2 s is a boundary here (and `histogram_quantile` in the exported rules
 * reads it exactly).
 */
export const durationBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10, 30, 60, 120,
] as const;
const fastBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** What the collectors read at scrape time (cheap counters the components keep anyway). */
export interface MetricSources {
  cache(): { hits: number; misses: number; evictions: number; expirations: number };
  /** Local engine state per local model id. */
  engines(): ReadonlyArray<{ model: string; busy: number; queued: number; capacity: number }>;
  auditWriteFailures(): number;
  /** Audit batches the writer thread appended (storage/sqlite/audit-writer.ts). */
  auditThreadBatches(): number;
  /** Redis when configured (redis.url): connected or not, and fallbacks by feature. */
  redis(): { up: boolean; fallbacks: ReadonlyMap<string, number> } | undefined;
  /** The last system CPU utilisation the sampler measured, 0–1; undefined before the first. */
  systemCpu(): number | undefined;
  /** Conversation-log shipping (log_shipping.enabled); undefined when off. */
  logShipping(): LogShippingState | undefined;
}

/** What the log shipper counts (backup/log-shipper.ts). */
export interface LogShippingState {
  readonly shipped: number;
  readonly failures: number;
  /** Epoch ms of the oldest record not in the object store yet; undefined: none waits. */
  readonly oldestUnshippedAt: number | undefined;
}

/**
 * The Prometheus metrics (prom-client, on a registry of its own, never the global one). Labels
 * are bounded: routes are Fastify's route patterns (`unmatched` for anything else), methods and
 * statuses come from fixed sets, models are the configured model ids, providers and error codes
 * from the code. No principal, conversation or request id is ever a label.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route' | 'method'>;
  private readonly firstToken: Histogram<'model'>;
  private readonly tokens: Counter<'model' | 'direction'>;
  private readonly generationRate: Histogram<'model'>;
  private readonly upstreamDuration: Histogram<'provider' | 'model'>;
  private readonly upstreamErrors: Counter<'provider' | 'model' | 'code'>;
  private readonly storeWrites: Histogram<'operation'>;
  private readonly auditWrites: Histogram;
  /** Label children by key: `labels()` hashes its arguments on every call. */
  private readonly durationChildren = new Map<string, { observe(value: number): void }>();
  /**
   * Counters the request path adds to, kept as plain numbers and handed to prom-client when
   * scraped: a prom-client `inc` hashes and checks its labels on every call, even on a child.
   */
  private readonly requestCounts = new Map<
    string,
    { labels: { route: string; method: string; status: string }; count: number }
  >();
  private readonly tokenCounts = new Map<string, { in: number; out: number }>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const requestCounts = this.requestCounts;
    this.requests = new Counter({
      name: 'assistd_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
      collect() {
        this.reset();
        for (const { labels, count } of requestCounts.values()) this.inc(labels, count);
      },
    });
    this.duration = new Histogram({
      name: 'assistd_http_request_duration_seconds',
      help: 'HTTP request latency until the response headers left (streams: the first event)',
      labelNames: ['route', 'method'],
      buckets: [...durationBuckets],
      registers,
    });
    this.firstToken = new Histogram({
      name: 'assistd_time_to_first_token_seconds',
      help: 'time from the model call to its first text',
      labelNames: ['model'],
      buckets: [...durationBuckets],
      registers,
    });
    const tokenCounts = this.tokenCounts;
    this.tokens = new Counter({
      name: 'assistd_tokens_total',
      help: 'tokens by model: prompt tokens in, completion tokens out (as the model reported)',
      labelNames: ['model', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const [model, counts] of tokenCounts) {
          this.inc({ model, direction: 'in' }, counts.in);
          this.inc({ model, direction: 'out' }, counts.out);
        }
      },
    });
    this.generationRate = new Histogram({
      name: 'assistd_generation_tokens_per_second',
      help: 'completion tokens per second of one answer, after its first token',
      labelNames: ['model'],
      buckets: [1, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'assistd_upstream_request_duration_seconds',
      help: 'model call duration (whole answer), by provider and model',
      labelNames: ['provider', 'model'],
      buckets: [...durationBuckets],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'assistd_upstream_errors_total',
      help: 'model calls that failed, by provider, model and error code',
      labelNames: ['provider', 'model', 'code'],
      registers,
    });
    this.storeWrites = new Histogram({
      name: 'assistd_store_write_duration_seconds',
      help: 'conversation store writes, by operation',
      labelNames: ['operation'],
      buckets: [...fastBuckets],
      registers,
    });
    this.auditWrites = new Histogram({
      name: 'assistd_audit_write_duration_seconds',
      help: 'audit log transactions (one per batch of records)',
      buckets: [...fastBuckets],
      registers,
    });
    this.collectors(sources, registers);
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let duration = this.durationChildren.get(key);
    if (!duration) {
      duration = this.duration.labels({ route, method });
      this.durationChildren.set(key, duration);
    }
    duration.observe(seconds);
    const statusKey = `${key} ${status}`;
    const counted = this.requestCounts.get(statusKey);
    if (counted) counted.count += 1;
    else
      this.requestCounts.set(statusKey, {
        labels: { route, method, status: String(status) },
        count: 1,
      });
  }

  /**
   * The per-model metrics with their labels bound once (a labelled call hashes its labels every
   * time), for the model wrapper to call on every answer.
   */
  forModel(provider: string, model: string): ModelMetrics {
    const firstToken = this.firstToken.labels({ model });
    const duration = this.upstreamDuration.labels({ provider, model });
    const tokens = { in: 0, out: 0 };
    this.tokenCounts.set(model, tokens);
    const rate = this.generationRate.labels({ model });
    const errors = new Map<string, { inc(): void }>();
    return {
      firstToken: (seconds) => firstToken.observe(seconds),
      answer: (seconds, usage, generationSeconds) => {
        duration.observe(seconds);
        if (!usage) return;
        tokens.in += usage.promptTokens;
        tokens.out += usage.completionTokens;
        if (
          generationSeconds !== undefined &&
          generationSeconds > 0 &&
          usage.completionTokens > 1
        ) {
          rate.observe((usage.completionTokens - 1) / generationSeconds);
        }
      },
      error: (code) => {
        let counter = errors.get(code);
        if (!counter) {
          counter = this.upstreamErrors.labels({ provider, model, code });
          errors.set(code, counter);
        }
        counter.inc();
      },
    };
  }

  observeStoreWrite(operation: string, seconds: number): void {
    this.storeWrites.observe({ operation }, seconds);
  }

  observeAuditWrite(seconds: number): void {
    this.auditWrites.observe(seconds);
  }

  /** The text a Prometheus scrape gets, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  /** Gauges and counters read from the components when scraped, never on the request path. */
  private collectors(sources: MetricSources, registers: Registry[]): void {
    // Counters the components keep: each scrape adds what they counted since the last one.
    let lastCache = { hit: 0, miss: 0, eviction: 0, expiration: 0 };
    new Counter({
      name: 'assistd_context_cache_events_total',
      help: 'context-cache lookups and removals: hit, miss, eviction (size bound), expiration (TTL)',
      labelNames: ['event'],
      registers,
      collect() {
        const stats = sources.cache();
        const now = {
          hit: stats.hits,
          miss: stats.misses,
          eviction: stats.evictions,
          expiration: stats.expirations,
        };
        for (const event of Object.keys(now) as Array<keyof typeof now>) {
          this.inc({ event }, Math.max(0, now[event] - lastCache[event]));
        }
        lastCache = now;
      },
    });
    new Gauge({
      name: 'assistd_redis_up',
      help: '1 while Redis (redis.url) answers, 0 while it is down; absent without redis.url',
      labelNames: ['role'],
      registers,
      collect() {
        const redis = sources.redis();
        this.reset();
        if (redis) this.set({ role: 'shared_state' }, redis.up ? 1 : 0);
      },
    });
    const lastFallbacks = new Map<string, number>();
    new Counter({
      name: 'assistd_redis_fallbacks_total',
      help: 'operations served without Redis because it failed, by feature (rate_limit, context_cache, lock, reload_channel)',
      labelNames: ['feature'],
      registers,
      collect() {
        for (const [feature, count] of sources.redis()?.fallbacks ?? []) {
          this.inc({ feature }, Math.max(0, count - (lastFallbacks.get(feature) ?? 0)));
          lastFallbacks.set(feature, count);
        }
      },
    });
    /** A counter that follows a total a component keeps (read at scrape time). */
    const following = (name: string, help: string, read: () => number) => {
      let last = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const total = read();
          this.inc(Math.max(0, total - last));
          last = total;
        },
      });
    };
    following(
      'assistd_audit_write_failures_total',
      'audit records that could not be written (their requests were refused): alert on any',
      () => sources.auditWriteFailures(),
    );
    following(
      'assistd_audit_thread_batches_total',
      'audit transactions run in the writer thread (SQLite, while the event loop is saturated)',
      () => sources.auditThreadBatches(),
    );
    following(
      'assistd_log_shipping_segments_total',
      'conversation-log segments uploaded to the object store',
      () => sources.logShipping()?.shipped ?? 0,
    );
    following(
      'assistd_log_shipping_failures_total',
      'conversation-log appends and uploads that failed (uploads are retried)',
      () => sources.logShipping()?.failures ?? 0,
    );
    new Gauge({
      name: 'assistd_log_shipping_backlog_seconds',
      help: 'age of the oldest conversation-log record not in the object store yet (0: none waits); absent with log shipping off',
      registers,
      collect() {
        this.reset();
        const shipping = sources.logShipping();
        if (!shipping) return;
        const oldest = shipping.oldestUnshippedAt;
        this.set(oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) / 1000);
      },
    });
    following(
      'assistd_log_lines_dropped_total',
      'log lines dropped because the log output could not keep up (its buffer was full)',
      droppedLogLines,
    );
    const engines = (name: string, help: string, pick: (engine: EngineState) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['model'],
        registers,
        collect() {
          this.reset();
          for (const engine of sources.engines()) this.set({ model: engine.model }, pick(engine));
        },
      });
    engines(
      'assistd_local_engine_active_sequences',
      'local engine sequences generating now',
      (engine) => engine.busy,
    );
    engines(
      'assistd_local_engine_max_sequences',
      'local engine sequences (max_batch_size)',
      (engine) => engine.capacity,
    );
    engines(
      'assistd_local_engine_queue_depth',
      'chats waiting for a local engine sequence',
      (engine) => engine.queued,
    );
    new Gauge({
      name: 'assistd_system_cpu_utilisation_ratio',
      help: 'CPU utilisation of the whole machine (all CPUs), 0–1, over the last sample period',
      registers,
      collect() {
        const value = sources.systemCpu();
        if (value !== undefined) this.set(value);
      },
    });
  }
}

type EngineState = ReturnType<MetricSources['engines']>[number];

/** What the model wrapper records (see `PrometheusMetrics.forModel`). */
export interface ModelMetrics {
  firstToken(seconds: number): void;
  answer(
    seconds: number,
    usage: { promptTokens: number; completionTokens: number } | undefined,
    generationSeconds: number | undefined,
  ): void;
  /** `code`: a bounded label (see `errorLabel`). */
  error(code: string): void;
}
