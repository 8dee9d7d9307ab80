import { describe, expect, it } from 'vitest';
import { Sampler } from './sampler.js';
import { TimeSeries } from './series.js';

describe('Sampler', () => {
  it('writes machine CPU, memory, engine occupancy and cache lookups into the current slot', () => {
    const clock = { now: 1_000_000_000_000 };
    const series = new TimeSeries({ clock: () => clock.now });
    const cpu = { busy: 1000, total: 4000 };
    const cache = { hits: 10, misses: 5, evictions: 0, expirations: 0 };
    const sampler = new Sampler({
      series,
      everyMs: 10_000,
      readCpu: () => ({ ...cpu }),
      sources: {
        cache: () => ({ ...cache }),
        engines: () => [
          { model: 'a', busy: 3, queued: 2, capacity: 4 },
          { model: 'b', busy: 1, queued: 0, capacity: 4 },
        ],
      },
    });
    cpu.busy += 900;
    cpu.total += 1000;
    cache.hits += 6;
    cache.misses += 2;
    sampler.sample();
    expect(series.read('cpu_percent', 'last', 10_000)).toBeCloseTo(90, 10);
    expect(sampler.systemCpu).toBeCloseTo(0.9, 10);
    expect(series.read('batch_occupancy_percent', 'last', 10_000)).toBe(50);
    expect(series.read('queue_depth', 'last', 10_000)).toBe(2);
    expect(series.read('cache_hit_rate_percent', 'avg', 10_000)).toBe(75);
    expect(series.read('memory_rss_bytes', 'last', 10_000)).toBeGreaterThan(10_000_000);
    const process = series.read('process_cpu_percent', 'last', 10_000)!;
    expect(process).toBeGreaterThanOrEqual(0);
    expect(process).toBeLessThanOrEqual(100);
    sampler.stop();
  });
});
