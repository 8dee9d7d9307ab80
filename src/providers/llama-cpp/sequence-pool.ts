import { AppError } from '../../errors.js';
import type { Clock } from '../../util/ids.js';

/**
 * One generation slot: a context sequence and what its KV cache holds, identified by the
 * fingerprints of the chat history it has evaluated (see history-fingerprint.ts).
 */
export interface Slot<Resource> {
  readonly index: number;
  readonly resource: Resource;
  /** Fingerprint of the history (messages + answer) the sequence holds; undefined when empty. */
  fingerprint: string | undefined;
  /** When the slot was last released, for least-recently-used reclaiming and the affinity TTL. */
  lastUsedAt: number;
  busy: boolean;
}

export interface SequencePoolOptions<Resource> {
  resources: readonly Resource[];
  /** Requests allowed to wait for a slot when all are busy; past it they get 429 at once. */
  maxQueue: number;
  /** Longest wait for a slot, in milliseconds; past it the request gets 429. */
  queueTimeoutMs: number;
  /** How long an idle slot stays reserved for its conversation, in milliseconds. */
  affinityTtlMs: number;
  clock?: Clock;
}

interface Waiter<Resource> {
  resolve: (slot: Slot<Resource>) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
}

/** Counters the benchmarks and tests read. */
export interface PoolStats {
  busy: number;
  queued: number;
  /** Acquisitions that got back the slot already holding their history. */
  affinityHits: number;
  /** Acquisitions that took an idle slot holding another conversation. */
  reclaimed: number;
  /** Requests turned away with 429. */
  rejected: number;
}

/**
 * The bounded set of generation slots (one per context sequence, `max_batch_size` of them) and a
 * bounded FIFO of requests waiting for one.
 *
 * A request names the fingerprints of its history prefixes; it gets, in order of preference: the
 * idle slot that already holds the longest of those prefixes (its KV cache is reused and only the
 * new tokens are evaluated), a slot that was never used or whose affinity expired, or the idle slot
 * used least recently. When every slot is busy it waits, up to `maxQueue` waiters and
 * `queueTimeoutMs`; beyond either it fails with 429 `server_busy` and a `Retry-After`.
 */
export class SequencePool<Resource> {
  private readonly slots: Slot<Resource>[];
  private readonly waiters: Waiter<Resource>[] = [];
  private readonly clock: Clock;
  private readonly stats = { affinityHits: 0, reclaimed: 0, rejected: 0 };

  constructor(private readonly options: SequencePoolOptions<Resource>) {
    this.clock = options.clock ?? Date.now;
    this.slots = options.resources.map((resource, index) => ({
      index,
      resource,
      fingerprint: undefined,
      lastUsedAt: 0,
      busy: false,
    }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Slots held by a running chat (read by the decode schedule every step: no allocation). */
  get busy(): number {
    let busy = 0;
    for (const slot of this.slots) if (slot.busy) busy++;
    return busy;
  }

  snapshot(): PoolStats {
    return {
      busy: this.busy,
      queued: this.waiters.length,
      ...this.stats,
    };
  }

  /**
   * A free slot, best first. `prefixes` are the fingerprints of the request's history prefixes,
   * longest first.
   */
  acquire(prefixes: readonly string[], signal: AbortSignal): Promise<Slot<Resource>> {
    signal.throwIfAborted();
    const slot = this.pick(prefixes);
    if (slot) return Promise.resolve(this.take(slot));
    if (this.waiters.length >= this.options.maxQueue) {
      this.stats.rejected++;
      return Promise.reject(this.busyError('the wait queue is full'));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        remove();
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        remove();
        this.stats.rejected++;
        reject(this.busyError(`no slot was free within ${this.options.queueTimeoutMs} ms`));
      }, this.options.queueTimeoutMs);
      const waiter: Waiter<Resource> = {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        },
      };
      const remove = () => {
        waiter.cleanup();
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Gives a slot back. `fingerprint` names the history its sequence now holds (undefined when the
   * state is unknown, e.g. after an error, so nobody is matched to it). The first waiter, if any,
   * gets the slot at once.
   */
  release(slot: Slot<Resource>, fingerprint: string | undefined): void {
    if (!slot.busy) return;
    slot.busy = false;
    slot.fingerprint = fingerprint;
    slot.lastUsedAt = this.clock();
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.cleanup();
      waiter.resolve(this.take(slot));
    }
  }

  /** Fails every waiter (shutdown). */
  rejectWaiting(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(error);
    }
  }

  private pick(prefixes: readonly string[]): Slot<Resource> | undefined {
    const now = this.clock();
    const idle = this.slots.filter((slot) => !slot.busy);
    if (idle.length === 0) return undefined;
    for (const prefix of prefixes) {
      const match = idle.find((slot) => slot.fingerprint === prefix);
      if (match) {
        this.stats.affinityHits++;
        return match;
      }
    }
    const unclaimed = idle.find(
      (slot) =>
        slot.fingerprint === undefined || now - slot.lastUsedAt > this.options.affinityTtlMs,
    );
    if (unclaimed) return unclaimed;
    this.stats.reclaimed++;
    return idle.reduce((oldest, slot) => (slot.lastUsedAt < oldest.lastUsedAt ? slot : oldest));
  }

  private take(slot: Slot<Resource>): Slot<Resource> {
    slot.busy = true;
    return slot;
  }

  private busyError(why: string): AppError {
    const retryAfterSeconds = Math.max(1, Math.ceil(this.options.queueTimeoutMs / 1000 / 4));
    return new AppError(
      'server_busy',
      `All ${this.slots.length} generation slots of the local model are busy and ${why}; retry later.`,
      { headers: { 'retry-after': String(retryAfterSeconds) } },
    );
  }
}
