// An open-loop load generator: requests start at evenly spaced instants (rate per second) and each
// latency is measured from the instant the request was due, so a server that falls behind is
// charged for the wait (no coordinated omission).
//
// Why not autocannon's `overallRate`: it gives each connection a quota per second that it fires
// back to back, then idles until the next second, so "half rate" is really full-speed bursts for
// half of every second; and its coordinated-omission correction assumes one request per
// millisecond, adding synthetic samples to every response slower than 1 ms. Neither describes a
// server at half load.
import { Pool } from 'undici';

export interface PacedResult {
  sent: number;
  errors: number;
  p50: number;
  p99: number;
  /** How late the generator itself started requests, P99, in ms (its own timer resolution). */
  startLagP99: number;
}

export async function pacedLoad(options: {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  rate: number;
  seconds: number;
  connections: number;
}): Promise<PacedResult> {
  const pool = new Pool(options.url, { connections: options.connections, pipelining: 1 });
  const total = Math.floor(options.rate * options.seconds);
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  await openLoop(total, options.rate, (_, due) => {
    lags.push(performance.now() - due);
    return pool
      .request({
        path: options.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body: options.body,
      })
      .then(async (response) => {
        await response.body.dump();
        if (response.statusCode !== 200) errors++;
        latencies.push(performance.now() - due);
      })
      .catch(() => {
        errors++;
      });
  });
  await pool.close();
  return {
    sent: total,
    errors,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    startLagP99: percentile(lags, 0.99),
  };
}

/**
 * Starts `count` requests at evenly spaced instants, `rate` per second from now, and resolves once
 * all of them have settled. `fire(index, due)` starts request `index`, which was due at `due`
 * (`performance.now()` time; it may start a little later, when the timer fires late), and handles
 * its own failure: its promise must not reject.
 */
export async function openLoop(
  count: number,
  rate: number,
  fire: (index: number, due: number) => Promise<void>,
): Promise<void> {
  const pending = new Set<Promise<void>>();
  const begin = performance.now();
  let started = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (started < count && begin + (started * 1000) / rate <= now) {
        const tracked = fire(started, begin + (started * 1000) / rate).finally(() =>
          pending.delete(tracked),
        );
        pending.add(tracked);
        started++;
      }
      if (started < count) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
}

/** The value at `fraction` (0.99: P99) of `values`, NaN when there are none. */
export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}
