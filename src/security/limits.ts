import { LRUCache } from 'lru-cache';
import type { Clock } from '../util/ids.js';

/** A token bucket: `capacity` units, refilled at `perMinute` a minute. */
export interface BucketRule {
  perMinute: number;
  capacity: number;
}

interface Bucket {
  level: number;
  at: number;
}

/**
 * Per-key token buckets in a bounded LRU: a key unseen for a while is dropped, which only ever
 * forgets a debt (a full bucket is the state a new key starts in), so memory stays bounded
 * however many principals or addresses show up. Levels may go negative: a chat's tokens are
 * charged after the answer, and the debt delays that principal's next request.
 */
export class Buckets {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    private readonly rule: BucketRule,
    private readonly clock: Clock,
    maxKeys: number,
  ) {
    this.buckets = countBounded(maxKeys);
  }

  /** Milliseconds until `key` has at least `cost` units again; 0 when it has them now. */
  waitFor(key: string, cost = 1): number {
    return this.waitAt(this.levelOf(key), cost);
  }

  /** Takes `cost` units when available; returns the wait in ms otherwise (0 when taken). */
  take(key: string, cost = 1): number {
    const level = this.levelOf(key);
    const wait = this.waitAt(level, cost);
    if (wait === 0) this.buckets.set(key, { level: level - cost, at: this.clock() });
    return wait;
  }

  /** Takes `cost` units unconditionally (the level may go below zero). */
  charge(key: string, cost: number): void {
    this.buckets.set(key, { level: this.levelOf(key) - cost, at: this.clock() });
  }

  private waitAt(level: number, cost: number): number {
    return level >= cost ? 0 : Math.ceil(((cost - level) / this.rule.perMinute) * 60_000);
  }

  private levelOf(key: string): number {
    const bucket = this.buckets.get(key);
    const now = this.clock();
    if (!bucket) return this.rule.capacity;
    const refill = ((now - bucket.at) / 60_000) * this.rule.perMinute;
    return Math.min(this.rule.capacity, bucket.level + refill);
  }
}

export interface LockoutRule {
  /** Failed authentications from one address that lock it. */
  maxFailures: number;
  /** Window the failures are counted in, ms. */
  windowMs: number;
  /** How long the address stays locked, ms. */
  lockMs: number;
}

interface Failures {
  count: number;
  since: number;
  lockedUntil: number;
}

/** Locks out an address after repeated failed authentication (bounded LRU of addresses). */
export class Lockout {
  private readonly failures: LRUCache<string, Failures>;

  constructor(
    private readonly rule: LockoutRule,
    private readonly clock: Clock,
    maxAddresses: number,
  ) {
    this.failures = countBounded(maxAddresses);
  }

  /** Milliseconds the address stays locked; 0 when it may try. */
  lockedFor(address: string): number {
    const entry = this.failures.get(address);
    return entry ? Math.max(0, entry.lockedUntil - this.clock()) : 0;
  }

  failed(address: string): void {
    const now = this.clock();
    const entry = this.failures.get(address);
    const fresh = !entry || now - entry.since > this.rule.windowMs;
    const next: Failures = fresh
      ? { count: 1, since: now, lockedUntil: entry?.lockedUntil ?? 0 }
      : { ...entry, count: entry.count + 1 };
    if (next.count >= this.rule.maxFailures) {
      next.lockedUntil = now + this.rule.lockMs;
      next.count = 0;
      next.since = now;
    }
    this.failures.set(address, next);
  }

  succeeded(address: string): void {
    const entry = this.failures.get(address);
    if (entry && entry.lockedUntil <= this.clock()) this.failures.delete(address);
  }
}

/**
 * An LRU cache of at most `count` entries whose storage grows with use: lru-cache preallocates
 * arrays for `max` entries (about 8 MB for the default 100,000 tracked keys, resident from the
 * start), but not for `maxSize`, so each entry counts as size 1.
 */
function countBounded<V extends object>(count: number): LRUCache<string, V> {
  return new LRUCache<string, V>({ maxSize: count, sizeCalculation: () => 1 });
}
