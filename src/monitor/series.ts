import type { Clock } from '../util/ids.js';
import type { Aggregation, MetricReader } from './types.js';
import { bucketCount, bucketOf, quantileOf } from './log-buckets.js';

/**
 * How a series is kept and reduced. `gauge`: a sample per slot (avg, min, max, last over slots);
 * `rate`: a count per slot, read per second; `ratio`: two counts per slot, read as a percentage
 * of their sums; `histogram`: bucket counts per slot, read as quantiles or the mean.
 */
type Kind = 'gauge' | 'rate' | 'ratio' | 'histogram';

interface Definition {
  kind: Kind;
  help: string;
}

/** The series kept in process: what the alert rules and the console's charts can read. */
export const seriesDefinitions = {
  cpu_percent: { kind: 'gauge', help: 'system CPU utilisation, % of all CPUs' },
  process_cpu_percent: { kind: 'gauge', help: 'CPU used by this process, % of all CPUs' },
  memory_rss_bytes: { kind: 'gauge', help: 'resident memory of this process' },
  event_loop_lag_ms: { kind: 'gauge', help: 'event-loop delay P99 over the slot, ms' },
  batch_occupancy_percent: {
    kind: 'gauge',
    help: 'local engine sequences busy, % of max_batch_size (all local models)',
  },
  queue_depth: { kind: 'gauge', help: 'chats waiting for a local engine sequence' },
  requests_per_second: { kind: 'rate', help: 'HTTP requests answered per second' },
  errors_per_second: { kind: 'rate', help: 'HTTP 5xx answers per second' },
  tokens_per_second: { kind: 'rate', help: 'completion tokens generated per second' },
  error_rate_percent: { kind: 'ratio', help: 'HTTP 5xx answers, % of requests' },
  cache_hit_rate_percent: { kind: 'ratio', help: 'context-cache lookups that hit, %' },
  request_latency_ms: { kind: 'histogram', help: 'HTTP request duration, ms' },
  ttft_ms: { kind: 'histogram', help: 'time to first token of a model answer, ms' },
} as const satisfies Record<string, Definition>;

export type SeriesName = keyof typeof seriesDefinitions;
type OfKind<K extends Kind> = {
  [N in SeriesName]: (typeof seriesDefinitions)[N]['kind'] extends K ? N : never;
}[SeriesName];
export type GaugeName = OfKind<'gauge'>;

const aggregationsOf: Record<Kind, readonly Aggregation[]> = {
  gauge: ['avg', 'min', 'max', 'last'],
  rate: ['avg', 'min', 'max', 'last'],
  ratio: ['avg'],
  histogram: ['avg', 'p50', 'p90', 'p95', 'p99'],
};

/** The aggregations a series supports. */
export function aggregationsFor(metric: SeriesName): readonly Aggregation[] {
  return aggregationsOf[seriesDefinitions[metric].kind];
}

/**
 * Which series exist and how they reduce, without any storage: what rules are checked against
 * (`alerts check` and the server, which delegates to it).
 */
export const seriesCatalog: Pick<MetricReader, 'supports' | 'metricNames'> = {
  supports(metric, aggregation) {
    const definition = (seriesDefinitions as Record<string, Definition>)[metric];
    return definition !== undefined && aggregationsOf[definition.kind].includes(aggregation);
  },
  metricNames() {
    return Object.keys(seriesDefinitions);
  },
};

export interface TimeSeriesOptions {
  /** Width of one slot, ms. Default 10 s. */
  resolutionMs?: number;
  /** How far back slots are kept, ms. Default 24 h (8,640 slots at 10 s). */
  retentionMs?: number;
  clock?: Clock;
}

/** One point of a series for charts: slot start (ms since the epoch) and value (null: no data). */
export type Point = [number, number | null];

/**
 * The in-process time series: a ring of fixed slots (24 h at 10 s by default) held in typed
 * arrays allocated once, so memory is fixed at start (`bytes`) whatever the traffic. Recording
 * is a few array writes (the request path calls it); a slot is reset the first time it is written
 * in a new period, so an idle server needs no timer to age data out.
 */
export class TimeSeries implements MetricReader {
  readonly resolutionMs: number;
  readonly capacity: number;
  private readonly clock: Clock;
  /** Start time of the period each slot holds; NaN: never written. */
  private readonly slotStart: Float64Array;
  private readonly gauges = new Map<string, Float64Array>();
  private readonly requests: Float64Array;
  private readonly errors: Float64Array;
  private readonly tokens: Float64Array;
  private readonly cacheHits: Float64Array;
  private readonly cacheLookups: Float64Array;
  private readonly latency: Histogram;
  private readonly ttft: Histogram;

  constructor(options: TimeSeriesOptions = {}) {
    this.resolutionMs = options.resolutionMs ?? 10_000;
    this.capacity = Math.max(1, Math.ceil((options.retentionMs ?? 86_400_000) / this.resolutionMs));
    this.clock = options.clock ?? Date.now;
    const counts = () => new Float64Array(this.capacity);
    this.slotStart = counts().fill(Number.NaN);
    for (const [name, definition] of Object.entries(seriesDefinitions)) {
      if (definition.kind === 'gauge') this.gauges.set(name, counts().fill(Number.NaN));
    }
    this.requests = counts();
    this.errors = counts();
    this.tokens = counts();
    this.cacheHits = counts();
    this.cacheLookups = counts();
    this.latency = newHistogram(this.capacity);
    this.ttft = newHistogram(this.capacity);
  }

  /** Memory held by the arrays, bytes (fixed at construction). */
  get bytes(): number {
    let total = this.slotStart.byteLength * (6 + this.gauges.size);
    for (const histogram of [this.latency, this.ttft]) {
      total += histogram.buckets.byteLength + histogram.sums.byteLength;
    }
    return total;
  }

  recordRequest(durationMs: number, serverError: boolean): void {
    const slot = this.slot();
    this.requests[slot]! += 1;
    if (serverError) this.errors[slot]! += 1;
    record(this.latency, slot, durationMs);
  }

  recordFirstToken(ms: number): void {
    record(this.ttft, this.slot(), ms);
  }

  addTokens(count: number): void {
    this.tokens[this.slot()]! += count;
  }

  addCacheLookups(hits: number, lookups: number): void {
    const slot = this.slot();
    this.cacheHits[slot]! += hits;
    this.cacheLookups[slot]! += lookups;
  }

  setGauge(name: GaugeName, value: number): void {
    this.gauges.get(name)![this.slot()] = value;
  }

  supports(metric: string, aggregation: Aggregation): boolean {
    return seriesCatalog.supports(metric, aggregation);
  }

  metricNames(): readonly string[] {
    return seriesCatalog.metricNames();
  }

  /** The series' clock, ms since the epoch. */
  now(): number {
    return this.clock();
  }

  read(metric: string, aggregation: Aggregation, windowMs: number): number | undefined {
    const now = this.clock();
    const current = Math.floor(now / this.resolutionMs) * this.resolutionMs;
    const slots = Math.min(this.capacity, Math.max(1, Math.ceil(windowMs / this.resolutionMs)));
    return this.reduce(
      metric,
      aggregation,
      current - (slots - 1) * this.resolutionMs,
      current,
      now,
    );
  }

  /**
   * Points of `metric` reduced by `aggregation` over steps of `stepMs` (a multiple of the
   * resolution), from `fromMs` to `toMs`, oldest first.
   */
  range(
    metric: string,
    aggregation: Aggregation,
    fromMs: number,
    toMs: number,
    stepMs: number,
  ): Point[] {
    const now = this.clock();
    const step = Math.max(1, Math.round(stepMs / this.resolutionMs)) * this.resolutionMs;
    const oldest = (Math.floor(now / this.resolutionMs) - this.capacity + 1) * this.resolutionMs;
    const first = Math.max(Math.floor(fromMs / step) * step, Math.ceil(oldest / step) * step);
    const points: Point[] = [];
    for (let start = first; start <= Math.min(toMs, now); start += step) {
      const last = start + step - this.resolutionMs;
      points.push([start, this.reduce(metric, aggregation, start, last, now) ?? null]);
    }
    return points;
  }

  /** Reduces the slots whose periods start from `firstStart` to `lastStart`, inclusive. */
  private reduce(
    metric: string,
    aggregation: Aggregation,
    firstStart: number,
    lastStart: number,
    now: number,
  ): number | undefined {
    if (!seriesCatalog.supports(metric, aggregation)) return undefined;
    const definition = (seriesDefinitions as Record<string, Definition>)[metric]!;
    const valid: number[] = [];
    let seconds = 0;
    for (let start = firstStart; start <= lastStart; start += this.resolutionMs) {
      const slot = this.indexOf(start);
      if (this.slotStart[slot] !== start) continue;
      valid.push(slot);
      seconds += Math.min(this.resolutionMs, Math.max(0, now - start)) / 1000;
    }
    if (valid.length === 0) return undefined;
    switch (definition.kind) {
      case 'gauge':
        return reduceSamples(
          valid.map((slot) => this.gauges.get(metric)![slot]!).filter((v) => !Number.isNaN(v)),
          aggregation,
        );
      case 'rate': {
        const counts = this.countsOf(metric);
        if (aggregation === 'avg') {
          return seconds > 0 ? valid.reduce((sum, slot) => sum + counts[slot]!, 0) / seconds : 0;
        }
        const perSlot = valid.map((slot) => {
          const start = this.slotStart[slot]!;
          const width = Math.min(this.resolutionMs, Math.max(1, now - start)) / 1000;
          return counts[slot]! / width;
        });
        return reduceSamples(perSlot, aggregation);
      }
      case 'ratio': {
        const [part, whole] =
          metric === 'error_rate_percent'
            ? [this.errors, this.requests]
            : [this.cacheHits, this.cacheLookups];
        const denominator = valid.reduce((sum, slot) => sum + whole[slot]!, 0);
        if (denominator === 0) return undefined;
        return (valid.reduce((sum, slot) => sum + part[slot]!, 0) / denominator) * 100;
      }
      case 'histogram':
        return reduceHistogram(metric === 'ttft_ms' ? this.ttft : this.latency, valid, aggregation);
    }
  }

  private countsOf(metric: string): Float64Array {
    if (metric === 'errors_per_second') return this.errors;
    if (metric === 'tokens_per_second') return this.tokens;
    return this.requests;
  }

  private indexOf(start: number): number {
    return Math.floor(start / this.resolutionMs) % this.capacity;
  }

  /** The slot for now, reset first when it still holds an older period. */
  private slot(): number {
    const start = Math.floor(this.clock() / this.resolutionMs) * this.resolutionMs;
    const slot = this.indexOf(start);
    if (this.slotStart[slot] !== start) {
      this.slotStart[slot] = start;
      for (const values of this.gauges.values()) values[slot] = Number.NaN;
      for (const counts of [
        this.requests,
        this.errors,
        this.tokens,
        this.cacheHits,
        this.cacheLookups,
      ]) {
        counts[slot] = 0;
      }
      for (const histogram of [this.latency, this.ttft]) {
        histogram.buckets.fill(0, slot * bucketCount, (slot + 1) * bucketCount);
        histogram.sums[slot] = 0;
      }
    }
    return slot;
  }
}

interface Histogram {
  /** `bucketCount` counts per slot. */
  buckets: Uint32Array;
  /** Sum of the observed values per slot (for the mean). */
  sums: Float64Array;
}

function newHistogram(capacity: number): Histogram {
  return {
    buckets: new Uint32Array(capacity * bucketCount),
    sums: new Float64Array(capacity),
  };
}

function record(histogram: Histogram, slot: number, value: number): void {
  histogram.buckets[slot * bucketCount + bucketOf(value)]! += 1;
  histogram.sums[slot]! += value;
}

function reduceHistogram(
  histogram: Histogram,
  slots: readonly number[],
  aggregation: Aggregation,
): number | undefined {
  const merged = new Float64Array(bucketCount);
  let total = 0;
  let sum = 0;
  for (const slot of slots) {
    for (let bucket = 0; bucket < bucketCount; bucket++) {
      const count = histogram.buckets[slot * bucketCount + bucket]!;
      merged[bucket]! += count;
      total += count;
    }
    sum += histogram.sums[slot]!;
  }
  if (total === 0) return undefined;
  if (aggregation === 'avg') return sum / total;
  const q = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 }[aggregation as 'p50'];
  return quantileOf(merged, total, q);
}

function reduceSamples(values: readonly number[], aggregation: Aggregation): number | undefined {
  if (values.length === 0) return undefined;
  switch (aggregation) {
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'last':
      return values.at(-1);
    default:
      return values.reduce((sum, value) => sum + value, 0) / values.length;
  }
}
