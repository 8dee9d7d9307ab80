import type { Logger } from 'pino';
import type { AuditEntry, AuditStore } from '../../storage/types.js';
import type { Clock } from '../../util/ids.js';
import { chainHash } from './chain.js';
import { CheckpointFileError, writeCheckpoint, type CheckpointSigner } from './checkpoint.js';
import { wellFormedEntry } from './well-formed.js';

/** The audit log cannot take records now; HTTP answers 503 `audit_unavailable`. */
export class AuditUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditUnavailableError';
  }
}

export interface AuditLogOptions {
  store: AuditStore;
  /** Signs checkpoints; undefined: none are written (records stay unanchored). */
  signer: CheckpointSigner | undefined;
  /** `<data_dir>/audit/checkpoints.jsonl`; undefined: checkpoints go to the table only. */
  checkpointFile: string | undefined;
  logger: Logger;
  clock?: Clock;
  /**
   * False: nothing is written, and `append` settles at the end of the event-loop turn, as a
   * commit would (`endOfTurn`; benchmarks only). Default true.
   */
  enabled?: boolean;
  /** A checkpoint after this many records (default 1000)… */
  checkpointEveryRecords?: number;
  /** …or this often, in milliseconds, when records were added (default 60 000; 0: no timer). */
  checkpointEveryMs?: number;
  /** Records waiting for their transaction at most; more are refused at once (default 10 000). */
  maxPending?: number;
  /** Records per transaction at most (default 500), which bounds how long one blocks. */
  maxBatch?: number;
  /** Told how long each transaction took, ms, written or not (metrics). */
  onWrite?: (ms: number) => void;
}

/** Records written in one transaction, and the promise every one of their writers waits on. */
interface Batch {
  entries: AuditEntry[];
  done: Promise<void>;
  resolve: () => void;
  reject: (error: AuditUnavailableError) => void;
}

/**
 * The audit log's writer: group commit and checkpoints.
 *
 * `append` queues a record and returns a promise that settles when the transaction holding it
 * has committed. Records queued during one event-loop turn are written together in the next
 * (`setImmediate`), in one SQLite transaction: one commit per turn instead of one per request,
 * and the request path only builds an object and waits. HTTP waits for that promise before it
 * sends a response, so no response leaves without its record (fail closed: a failed write turns
 * the response into 503 `audit_unavailable`).
 *
 * Failures count in `auditWriteFailures` (one per record that could not be written) and are
 * logged at error level; a checkpoint file that cannot be written or fsynced is fatal for the
 * log (after a failed fsync the kernel may have dropped the dirty pages, so a retry could
 * pretend the data is safe): every later append fails until the process restarts.
 */
export class AuditLog {
  /** Records that could not be written since start: alert when it rises. */
  auditWriteFailures = 0;
  /** Checkpoints that could not be signed or stored (not counted in `auditWriteFailures`). */
  checkpointFailures = 0;
  readonly enabled: boolean;

  private readonly store: AuditStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly everyRecords: number;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly batches: Batch[] = [];
  private pendingCount = 0;
  private scheduled = false;
  private writing: Promise<void> | undefined;
  private checkpointing: Promise<void> | undefined;
  /** The newest seq this process wrote, and the newest seq a checkpoint covers. */
  private headSeq = 0;
  private anchoredSeq = 0;
  /** When this process wrote its first record no checkpoint covers yet (its clock). */
  private unanchoredSince: number | undefined;
  /** The checkpoint period (0: no timer, the CLI). */
  private readonly everyMs: number;
  private timer: NodeJS.Timeout | undefined;
  private fatal: string | undefined;
  private closed = false;
  private warnedNoKey = false;
  private overloaded = false;
  private turnEnd: Promise<void> | undefined;

  constructor(private readonly options: AuditLogOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.enabled = options.enabled ?? true;
    this.everyRecords = options.checkpointEveryRecords ?? 1000;
    this.maxPending = options.maxPending ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    const everyMs = options.checkpointEveryMs ?? 60_000;
    this.everyMs = everyMs;
    if (this.enabled && options.signer && everyMs > 0) {
      this.timer = setInterval(() => void this.checkpoint(), everyMs);
      this.timer.unref();
    }
  }

  /** False once a fatal failure stopped the log: requests are then refused before any work. */
  get writable(): boolean {
    return !this.enabled || (this.fatal === undefined && !this.closed);
  }

  /**
   * Queues a record; resolves once it is committed, rejects with `AuditUnavailableError`. Text
   * that canonical JSON cannot hold is replaced first (well-formed.ts), so no record can fail
   * the transaction it shares with others.
   */
  append(entry: AuditEntry): Promise<void> {
    if (!this.enabled) return this.endOfTurn();
    if (this.fatal !== undefined) {
      this.auditWriteFailures += 1;
      return Promise.reject(new AuditUnavailableError(this.fatal));
    }
    if (this.closed) {
      this.auditWriteFailures += 1;
      return Promise.reject(new AuditUnavailableError('the audit log is closed'));
    }
    if (this.pendingCount >= this.maxPending) {
      this.auditWriteFailures += 1;
      // Once per overload, not once per refused request.
      if (!this.overloaded) {
        this.overloaded = true;
        this.logger.error(
          { pending: this.pendingCount, failures: this.auditWriteFailures },
          'audit log queue full: refusing requests until it drains',
        );
      }
      return Promise.reject(new AuditUnavailableError('the audit queue is full'));
    }
    let batch = this.batches.at(-1);
    if (!batch || batch.entries.length >= this.maxBatch) {
      batch = newBatch();
      this.batches.push(batch);
    }
    batch.entries.push(wellFormedEntry(entry));
    this.pendingCount += 1;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
    return batch.done;
  }

  /**
   * Settles in the next `setImmediate`, when the records of this turn would have committed: a
   * log that is off still holds replies until then (plugins/audit.ts), so that turning it off
   * takes away its work and nothing else. One promise for every reply of the turn.
   */
  endOfTurn(): Promise<void> {
    this.turnEnd ??= new Promise((resolve) =>
      setImmediate(() => {
        this.turnEnd = undefined;
        resolve();
      }),
    );
    return this.turnEnd;
  }

  /** Appends without waiting (server events); a failure is counted and logged, not thrown. */
  record(entry: AuditEntry): void {
    this.append(entry).catch(() => undefined);
  }

  /**
   * Signs a checkpoint over the head when records were added since the last one; never rejects
   * (failures are logged and counted). Concurrent calls share one run.
   */
  checkpoint(): Promise<void> {
    if (!this.enabled || !this.options.signer) return Promise.resolve();
    this.checkpointing ??= this.checkpointOnce().finally(() => {
      this.checkpointing = undefined;
      // Records written while it ran may already call for the next one.
      if (!this.closed) this.checkpointIfDue();
    });
    return this.checkpointing;
  }

  /**
   * Writes what is queued, signs a last checkpoint when this log wrote records, and stops. Later
   * appends are refused. (A CLI command that recorded nothing, such as `keys list`, signs
   * nothing.)
   */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    while (this.batches.length > 0 || this.writing) await this.flush();
    this.closed = true;
    await this.checkpointing;
    if (this.headSeq > 0) await this.checkpoint();
  }

  private flush(): Promise<void> {
    this.writing ??= this.writeQueued().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async writeQueued(): Promise<void> {
    for (let batch = this.batches.shift(); batch; batch = this.batches.shift()) {
      const count = batch.entries.length;
      // The timer did not fire for longer than its period (the host slept, the process was
      // paused, the clock jumped): what was written before is anchored first, or it and this
      // batch would make one stretch that waited across the pause (a checkpoint gap).
      const since = this.unanchoredSince;
      if (since !== undefined && this.everyMs > 0 && this.clock() - since > this.everyMs * 2) {
        this.unanchoredSince = this.clock(); // one try per period, should it fail
        await this.checkpoint();
      }
      const started = performance.now();
      try {
        const last = await this.store.append(batch.entries, chainHash);
        this.options.onWrite?.(performance.now() - started);
        this.pendingCount -= count;
        batch.resolve();
        this.headSeq = Math.max(this.headSeq, last);
        if (this.headSeq > this.anchoredSeq) this.unanchoredSince ??= this.clock();
        this.overloaded = false;
        this.checkpointIfDue();
      } catch (error) {
        this.pendingCount -= count;
        this.auditWriteFailures += count;
        this.logger.error(
          { err: error, records: count, failures: this.auditWriteFailures },
          'audit log write failed: its requests fail with 503 audit_unavailable',
        );
        batch.reject(
          new AuditUnavailableError('the audit log cannot be written', { cause: error }),
        );
      }
    }
  }

  private checkpointIfDue(): void {
    if (this.headSeq - this.anchoredSeq >= this.everyRecords) void this.checkpoint();
  }

  private async checkpointOnce(): Promise<void> {
    const signer = this.options.signer!;
    if (this.fatal !== undefined) return;
    // The last checkpoint of a log that may make a key (the CLI's) does, so its records never
    // wait for the next process; earlier ones do not (`keys generate` would find one made).
    if (signer.currentKid() === undefined && this.closed) {
      await signer.ensureKey?.().catch((error: unknown) => {
        this.logger.error({ err: error }, 'no signing key could be made for the audit checkpoint');
      });
    }
    if (signer.currentKid() === undefined) {
      // Before the first key exists, or between a key's end and the next upkeep's rotation.
      if (!this.warnedNoKey) {
        this.logger.info('no signing key is active: audit checkpoints wait for one');
        this.warnedNoKey = true;
      }
      return;
    }
    const head = this.headSeq;
    try {
      const written = await writeCheckpoint({
        store: this.store,
        signer,
        file: this.options.checkpointFile,
        clock: this.clock,
      });
      // Nothing new: the last checkpoint (perhaps another process's) covers the head already.
      this.anchoredSeq = Math.max(this.anchoredSeq, written?.seq ?? head);
      this.unanchoredSince = this.anchoredSeq >= this.headSeq ? undefined : this.clock();
      if (written) this.logger.debug({ seq: written.seq }, 'audit checkpoint');
    } catch (error) {
      this.checkpointFailures += 1;
      if (error instanceof CheckpointFileError) {
        this.fatal = 'the audit checkpoint file cannot be written';
        this.auditWriteFailures += 1;
        this.logger.fatal(
          { err: error.cause, file: this.options.checkpointFile },
          'audit checkpoint file write or fsync failed: the audit log is stopped and every ' +
            'request fails with 503 audit_unavailable until the server restarts',
        );
        return;
      }
      // Retried after the next N records or by the timer, not after every batch.
      this.anchoredSeq = Math.max(this.anchoredSeq, head);
      this.logger.error({ err: error }, 'audit checkpoint failed');
    }
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: AuditUnavailableError) => void;
  const done = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  // Every batch has at least one waiter; this only keeps a batch whose waiters all left from
  // surfacing as an unhandled rejection.
  done.catch(() => undefined);
  return { entries: [], done, resolve, reject };
}
