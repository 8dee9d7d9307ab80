import { availableParallelism, cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MetricSources } from './metrics.js';
import type { TimeSeries } from './series.js';

/** Busy and total CPU time of the whole machine so far, ms (from `os.cpus()`). */
export function machineCpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + idle + irq;
  }
  return { busy, total };
}

export interface SamplerOptions {
  series: TimeSeries;
  sources: Pick<MetricSources, 'cache' | 'engines'>;
  /** How often to sample, ms: the series' resolution, so each slot gets one sample. */
  everyMs: number;
  /** Replaced in tests. */
  readCpu?: () => { busy: number; total: number };
}

/**
 * Samples the gauges of the time series once per slot: machine and process CPU, resident memory,
 * event-loop delay, local engine occupancy and queue, and the context cache's lookups since the
 * last sample. Runs on an unref'd timer, never on the request path.
 */
export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private lastCpu: { busy: number; total: number };
  private lastProcess = process.cpuUsage();
  private lastAt = performance.now();
  private lastCache = { hits: 0, lookups: 0 };
  /** Machine CPU utilisation over the last period, 0–1. */
  systemCpu: number | undefined;

  constructor(private readonly options: SamplerOptions) {
    this.lastCpu = (options.readCpu ?? machineCpuTimes)();
    const cache = options.sources.cache();
    this.lastCache = { hits: cache.hits, lookups: cache.hits + cache.misses };
  }

  start(): void {
    this.loopDelay.enable();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.loopDelay.disable();
  }

  /** Takes one sample now (the timer calls it; tests may too). */
  sample(): void {
    const { series, sources } = this.options;
    const cpu = (this.options.readCpu ?? machineCpuTimes)();
    const total = cpu.total - this.lastCpu.total;
    if (total > 0) {
      this.systemCpu = Math.min(1, Math.max(0, (cpu.busy - this.lastCpu.busy) / total));
      series.setGauge('cpu_percent', this.systemCpu * 100);
    }
    this.lastCpu = cpu;

    const now = performance.now();
    const used = process.cpuUsage(this.lastProcess);
    const elapsedMs = now - this.lastAt;
    if (elapsedMs > 0) {
      const share = (used.user + used.system) / 1000 / (elapsedMs * availableParallelism());
      series.setGauge('process_cpu_percent', Math.min(100, share * 100));
    }
    this.lastProcess = process.cpuUsage();
    this.lastAt = now;

    series.setGauge('memory_rss_bytes', process.memoryUsage.rss());
    if (this.loopDelay.count > 0) {
      series.setGauge('event_loop_lag_ms', this.loopDelay.percentile(99) / 1e6);
    }
    this.loopDelay.reset();

    const engines = sources.engines();
    if (engines.length > 0) {
      const capacity = engines.reduce((sum, engine) => sum + engine.capacity, 0);
      const busy = engines.reduce((sum, engine) => sum + engine.busy, 0);
      series.setGauge('batch_occupancy_percent', capacity > 0 ? (busy / capacity) * 100 : 0);
      series.setGauge(
        'queue_depth',
        engines.reduce((sum, engine) => sum + engine.queued, 0),
      );
    }

    const cache = sources.cache();
    const lookups = cache.hits + cache.misses;
    series.addCacheLookups(
      Math.max(0, cache.hits - this.lastCache.hits),
      Math.max(0, lookups - this.lastCache.lookups),
    );
    this.lastCache = { hits: cache.hits, lookups };
  }
}
