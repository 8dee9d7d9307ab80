import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { AuditEntry } from '../types.js';

/** What the event-loop thread sends the writer thread: one batch, one transaction. */
export interface WriterRequest {
  id: number;
  entries: readonly AuditEntry[];
}

/** The writer thread's answer: the seq of the batch's last record, or why it failed. */
export type WriterResponse =
  { id: number; seq: number } | { id: number; error: { message: string; code?: string } };

export interface AuditWriterOptions {
  /** The database file (the thread opens its own connection to it). */
  path: string;
  synchronous: 'normal' | 'full';
  busyTimeoutMs: number;
  /** Records a second from which the thread takes the writes (default 100; 0: from the first). */
  minRate?: number;
  /**
   * Event-loop utilisation (0–1, over the last quarter second) from which the thread takes the
   * writes (default 0.85; 0: at any). Below it the event loop has time to spare, and the thread's
   * hop (two wake-ups per batch, each waiting for a core on a busy machine) would only add latency.
   */
  minUtilization?: number;
  /**
   * The thread stops after this long without taking a batch, ms (default 300 000): long enough
   * that a server busy in bursts keeps its thread warm (a new one starts with cold code).
   */
  idleMs?: number;
  logger?: Logger | undefined;
  now?: () => number;
}

/** A batch the writer thread could not append (its SQLite error code, when it had one). */
export class AuditWriterError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'AuditWriterError';
    this.code = code;
  }
}

interface Waiter {
  resolve: (seq: number) => void;
  reject: (error: AuditWriterError) => void;
}

/** After the thread failed, batches stay in the event-loop thread this long before a retry. */
const retryAfterMs = 60_000;

/** How long batches stay in-thread after another write on the event-loop thread's connection. */
const standAsideMs = 5000;

/**
 * Writes audit batches from a worker thread once the server is busy.
 *
 * Under load the audit transaction (chain hash, inserts, commit: about a tenth of a request's
 * CPU time in the event-loop thread, and the WAL checkpoints' fsync stalls) is the largest part
 * of access control's cost; on another core it runs beside the requests instead of between them.
 * While the event loop has time to spare a thread buys nothing and its hop adds latency, so
 * records are written in-thread until they arrive at `minRate` a second with the loop busy
 * (`minUtilization`); the thread then starts (tens of milliseconds, batches stay in-thread
 * meanwhile), takes the batches while the loop stays busy, and stops after `idleMs` without
 * taking one, giving its memory back (a server that was never saturated holds no thread).
 *
 * Both paths run the same transaction (`SqliteAudit.appendNow`: BEGIN IMMEDIATE, read the head,
 * chain onto it), so the log stays one chain whichever connection writes, as it does with the
 * CLI writing at the same time. The caller (AuditLog) sends one batch at a time, so batches are
 * never reordered between the two paths. A batch is answered after its COMMIT, so a reply that
 * waits for its record still leaves only once the record is stored (fail closed). While the
 * event-loop thread's connection writes other tables (chat turns), the thread stands aside
 * (`standAside`): one file has one write lock, and waiting for it would stop the event loop.
 */
export class AuditWriter {
  /** Batches the thread appended since the store opened. */
  batchesWritten = 0;
  private worker: Worker | undefined;
  private readyWaiters: Array<(ready: boolean) => void> = [];
  private isReady = false;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private windowStart = -Infinity;
  private windowCount = 0;
  private lastUsed = 0;
  private failedAt = -Infinity;
  private standingAsideUntil = -Infinity;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private drained: (() => void) | undefined;
  private readonly minRate: number;
  private readonly minUtilization: number;
  private utilizationMark = performance.eventLoopUtilization();
  private utilizationAt = -Infinity;
  private loopBusy = false;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AuditWriterOptions) {
    this.minRate = options.minRate ?? 100;
    this.minUtilization = options.minUtilization ?? 0.85;
    this.idleMs = options.idleMs ?? 300_000;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * The event-loop thread's connection writes other tables too (chat turns): two writers on one
   * file would make it wait for the thread's lock, and SQLite's busy handler sleeps a whole
   * millisecond or more per wait, with the event loop stopped. So batches stay in-thread for
   * `standAsideMs` after such a write is seen.
   */
  standAside(): void {
    this.standingAsideUntil = this.now() + standAsideMs;
  }

  /** Whether a thread is running and has opened its connection (it can take batches). */
  get ready(): boolean {
    return this.isReady;
  }

  /** Whether a thread is running now (started, ready or not). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Settles once a thread that is starting can take batches: false when it failed instead. */
  whenReady(): Promise<boolean> {
    if (this.isReady || !this.worker) return Promise.resolve(this.isReady);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /**
   * Counts `count` records towards the rate and says whether the thread takes this batch: only
   * when it is ready. Crossing the rate starts it.
   */
  takes(count: number): boolean {
    if (this.closed) return false;
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount += count;
    const busy = this.busy(now);
    if (
      !this.worker &&
      busy &&
      this.windowCount >= this.minRate &&
      now - this.failedAt >= retryAfterMs
    ) {
      this.start();
    }
    if (!busy || !this.isReady || now < this.standingAsideUntil) return false;
    this.lastUsed = now;
    return true;
  }

  /**
   * Whether the event loop is busy enough for the thread to pay: utilisation at `minUtilization`
   * or more over the last quarter second, and once busy, until it falls below 0.8 of that (so the
   * work the thread takes off the loop does not switch it back at once).
   */
  private busy(now: number): boolean {
    if (this.minUtilization === 0) return true;
    if (now - this.utilizationAt >= 250) {
      const { utilization } = performance.eventLoopUtilization(this.utilizationMark);
      this.utilizationMark = performance.eventLoopUtilization();
      this.utilizationAt = now;
      this.loopBusy = utilization >= this.minUtilization * (this.loopBusy ? 0.8 : 1);
    }
    return this.loopBusy;
  }

  /** Appends one batch in the thread (only after `takes` said yes); resolves to its last seq. */
  append(entries: readonly AuditEntry[]): Promise<number> {
    const worker = this.worker;
    if (!worker || !this.isReady) {
      return Promise.reject(new AuditWriterError('the audit writer thread is not running'));
    }
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Held only while a batch is out, so an idle thread never keeps the process alive.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ id, entries } satisfies WriterRequest);
    });
  }

  /** Waits for the batches in flight, then stops the thread; later batches stay in-thread. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.waiting.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.stop();
  }

  private start(): void {
    const workerData = {
      path: this.options.path,
      synchronous: this.options.synchronous,
      busyTimeoutMs: this.options.busyTimeoutMs,
    };
    const worker = import.meta.url.endsWith('.ts')
      ? // From the TypeScript sources (tests), the thread registers tsx to load its module.
        new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); ` +
            `return import(${JSON.stringify(new URL('./audit-writer-thread.ts', import.meta.url).href)}); })`,
          { eval: true, workerData },
        )
      : new Worker(new URL('./audit-writer-thread.js', import.meta.url), { workerData });
    worker.unref();
    this.worker = worker;
    this.lastUsed = this.now();
    worker.on('message', (message: WriterResponse | 'ready') => {
      if (message === 'ready') {
        this.isReady = true;
        this.lastUsed = this.now(); // idle from now on, not from the start
        this.options.logger?.info('audit records are written from a worker thread (busy server)');
        this.settleReady(true);
        return;
      }
      this.answer(message);
    });
    worker.on('error', (error) => {
      this.failedAt = this.now();
      this.options.logger?.error(
        { err: error },
        'the audit writer thread failed: records are written in the event-loop thread',
      );
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.forget();
      this.failAll('the audit writer thread stopped before answering');
    });
    this.idleTimer ??= setInterval(() => {
      // A thread still starting is not idle (a slow start on a loaded machine took longer than
      // a short idleMs, and the thread was stopped before it could take a batch).
      if (this.isReady && this.waiting.size === 0 && this.now() - this.lastUsed >= this.idleMs) {
        void this.stop();
      }
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private answer(response: WriterResponse): void {
    const waiter = this.waiting.get(response.id);
    if (!waiter) return;
    this.waiting.delete(response.id);
    if ('seq' in response) {
      this.batchesWritten += 1;
      waiter.resolve(response.seq);
    } else waiter.reject(new AuditWriterError(response.error.message, response.error.code));
    if (this.waiting.size === 0) {
      this.worker?.unref();
      this.drained?.();
    }
  }

  private failAll(message: string): void {
    for (const waiter of this.waiting.values()) waiter.reject(new AuditWriterError(message));
    this.waiting.clear();
    this.drained?.();
  }

  private settleReady(ready: boolean): void {
    for (const resolve of this.readyWaiters.splice(0)) resolve(ready);
  }

  private forget(): void {
    this.settleReady(false);
    this.worker = undefined;
    this.isReady = false;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.forget();
    await worker.terminate();
  }
}
