import { describe, expect, it } from 'vitest';
import { bucketCount, bucketOf, quantileOf, upperBound } from './log-buckets.js';
import { TimeSeries } from './series.js';

function series(start = 1_000_000_000_000, options: { retentionMs?: number } = {}) {
  const clock = { now: start };
  const store = new TimeSeries({ resolutionMs: 10_000, clock: () => clock.now, ...options });
  return { store, clock };
}

describe('log buckets', () => {
  it('put each value in the first bucket whose bound holds it', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(2)).toBe(3);
    expect(bucketOf(2.0001)).toBe(4);
    expect(bucketOf(1e12)).toBe(bucketCount - 1);
    for (const value of [1.5, 7, 99, 1999, 2000, 2001, 65_000]) {
      const index = bucketOf(value);
      expect(upperBound(index)).toBeGreaterThanOrEqual(value);
      expect(upperBound(index - 1)).toBeLessThan(value);
    }
  });

  it('read quantiles within one bucket width (26 %) of the exact value', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => 1 + ((i * 7919) % 3000));
    const buckets = new Float64Array(bucketCount);
    for (const value of values) buckets[bucketOf(value)]! += 1;
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      const error = Math.abs(quantileOf(buckets, values.length, q) - exact) / exact;
      // Interpolation assumes values spread evenly over the bucket: exact in mid-range here,
      // off where the data stops inside a bucket (3000 in 2580–3251).
      expect(error).toBeLessThan(q === 0.5 ? 0.01 : 2 ** (1 / 3) - 1);
    }
  });
});

describe('TimeSeries', () => {
  it('reads a P99 above 2000 ms apart from one below it', () => {
    const { store } = series();
    for (let i = 0; i < 980; i++) store.recordRequest(100, false);
    for (let i = 0; i < 20; i++) store.recordRequest(2600, false);
    expect(store.read('request_latency_ms', 'p99', 300_000)).toBeGreaterThan(2000);
    expect(store.read('request_latency_ms', 'p50', 300_000)).toBeLessThan(110);
    const { store: fast } = series();
    for (let i = 0; i < 1000; i++) fast.recordRequest(i < 995 ? 100 : 2600, false);
    expect(fast.read('request_latency_ms', 'p99', 300_000)).toBeLessThan(2000);
    expect(fast.read('request_latency_ms', 'avg', 300_000)).toBeCloseTo(112.5, 5);
  });

  it('computes the error rate over the window, and nothing when there were no requests', () => {
    const { store, clock } = series();
    expect(store.read('error_rate_percent', 'avg', 600_000)).toBeUndefined();
    for (let i = 0; i < 90; i++) store.recordRequest(5, false);
    clock.now += 60_000;
    for (let i = 0; i < 10; i++) store.recordRequest(5, true);
    expect(store.read('error_rate_percent', 'avg', 600_000)).toBeCloseTo(10, 10);
    // A one-minute window sees only the errors.
    expect(store.read('error_rate_percent', 'avg', 60_000)).toBe(100);
  });

  it('reads rates per second of the time covered, including the slot in progress', () => {
    const { store, clock } = series(1_000_000_000_000);
    store.setGauge('cpu_percent', 0); // the sampler touches every slot
    for (let i = 0; i < 50; i++) store.recordRequest(1, false);
    clock.now += 5_000;
    expect(store.read('requests_per_second', 'avg', 60_000)).toBeCloseTo(10, 10);
    clock.now += 5_000;
    store.setGauge('cpu_percent', 0);
    store.addTokens(200);
    clock.now += 10_000;
    store.setGauge('cpu_percent', 0);
    // 20 s covered so far in a minute's window, 50 requests.
    expect(store.read('requests_per_second', 'avg', 60_000)).toBeCloseTo(50 / 20, 10);
    expect(store.read('tokens_per_second', 'max', 60_000)).toBeCloseTo(20, 10);
  });

  it('reduces gauges by avg, min, max and last over the window', () => {
    const { store, clock } = series();
    for (const value of [80, 90, 95, 70]) {
      store.setGauge('cpu_percent', value);
      clock.now += 10_000;
    }
    clock.now -= 10_000;
    expect(store.read('cpu_percent', 'avg', 40_000)).toBeCloseTo(83.75, 10);
    expect(store.read('cpu_percent', 'max', 40_000)).toBe(95);
    expect(store.read('cpu_percent', 'min', 40_000)).toBe(70);
    expect(store.read('cpu_percent', 'last', 40_000)).toBe(70);
    expect(store.read('cpu_percent', 'avg', 20_000)).toBeCloseTo(82.5, 10);
    expect(store.read('memory_rss_bytes', 'avg', 40_000)).toBeUndefined();
  });

  it('forgets periods older than the retention, in fixed memory', () => {
    const { store, clock } = series(1_000_000_000_000, { retentionMs: 60_000 });
    const bytes = store.bytes;
    store.recordRequest(3000, true);
    clock.now += 60_000;
    store.recordRequest(10, false);
    expect(store.read('error_rate_percent', 'avg', 3_600_000)).toBe(0);
    expect(store.read('request_latency_ms', 'p99', 3_600_000)).toBeLessThan(11);
    expect(store.bytes).toBe(bytes);
  });

  it('holds 24 h at 10 s in a few MB, allocated at start', () => {
    const store = new TimeSeries();
    expect(store.capacity).toBe(8640);
    expect(store.bytes).toBeGreaterThan(1_000_000);
    expect(store.bytes).toBeLessThan(8_000_000);
  });

  it('serves points for charts at a coarser step', () => {
    const start = 60_000 * 16_666_667;
    const { store, clock } = series(start);
    for (let minute = 0; minute < 3; minute++) {
      for (let slot = 0; slot < 6; slot++) {
        store.setGauge('cpu_percent', minute * 10 + slot);
        clock.now += 10_000;
      }
    }
    clock.now -= 1;
    const points = store.range('cpu_percent', 'avg', start, clock.now, 60_000);
    expect(points).toEqual([
      [start, 2.5],
      [start + 60_000, 12.5],
      [start + 120_000, 22.5],
    ]);
    expect(store.range('ttft_ms', 'p99', start, clock.now, 60_000).map(([, v]) => v)).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('says which metrics and aggregations rules may use', () => {
    const { store } = series();
    expect(store.supports('request_latency_ms', 'p99')).toBe(true);
    expect(store.supports('cpu_percent', 'p99')).toBe(false);
    expect(store.supports('error_rate_percent', 'max')).toBe(false);
    expect(store.supports('nope', 'avg')).toBe(false);
    expect(store.metricNames()).toContain('cpu_percent');
  });
});
