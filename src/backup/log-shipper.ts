import { createHash, randomBytes } from 'node:crypto';
import {
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EnvelopeCrypto } from '../security/crypto/index.js';
import { syncDirectory } from '../util/durable-file.js';
import { frame, readFrames, recordContext, segmentKey, type LogRecord } from './log-records.js';
import type { ObjectStore } from './object-store/types.js';

export interface LogShipperOptions {
  /** `<data_dir>/conversation-log`: the open segment, sealed ones waiting for upload, the id. */
  folder: string;
  objects: ObjectStore;
  crypto: EnvelopeCrypto;
  logger: Logger;
  /** A segment is sealed and uploaded at most this long after its first record (ms). */
  maxDelayMs: number;
  /** …or once it holds this many bytes. */
  maxSegmentBytes?: number;
}

/**
 * Real-time shipping of the conversation log. Every stored change is appended to the open
 * segment (encrypted, framed) and fsynced before `append` resolves, records of one event-loop
 * turn sharing one fsync; a segment is sealed at most `maxDelayMs` after its first record (or when
 * large), named by its SHA-256 and uploaded; sealed segments stay on disk until the upload
 * succeeded, and are retried. On start a torn tail of the open segment (a crash mid-write) is cut
 * off, and what it holds is sealed and shipped.
 */
export class LogShipper {
  /** Uploaded segments, and seconds from a record's append to its segment's upload (last). */
  shipped = 0;
  lastLagMs: number | undefined;
  failures = 0;
  private readonly replica: string;
  private handle: FileHandle | undefined;
  private segment = 0;
  private index = 0;
  private size = 0;
  private firstAt: number | undefined;
  /** The first record's time of the oldest sealed segment not shipped yet (undefined: none). */
  private unshippedSince: number | undefined;
  /** The same for the segments an upload pass is shipping now. */
  private shippingSince: number | undefined;
  private queue: Array<{ body: Buffer; resolve: () => void; reject: (error: unknown) => void }> =
    [];
  private flushing: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private sealTimer: NodeJS.Timeout | undefined;
  private uploading: Promise<void> | undefined;
  private uploadAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly options: LogShipperOptions,
    replica: string,
  ) {
    this.replica = replica;
  }

  static async open(options: LogShipperOptions): Promise<LogShipper> {
    await mkdir(join(options.folder, 'sealed'), { recursive: true, mode: 0o700 });
    const idFile = join(options.folder, 'replica-id');
    let replica = (await readFile(idFile, 'utf8').catch(() => '')).trim();
    if (!/^[a-z0-9-]{8,64}$/.test(replica)) {
      replica = randomBytes(8).toString('hex');
      await writeFile(idFile, `${replica}\n`, { mode: 0o600 });
      await syncDirectory(options.folder);
    }
    const shipper = new LogShipper(options, replica);
    await shipper.recover();
    return shipper;
  }

  /** Appends one record; resolves once it is fsynced in the open segment. */
  append(record: LogRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the conversation log is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ body: Buffer.from(JSON.stringify(record)), resolve, reject });
      if (this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  /** Seals what is open and uploads everything waiting; resolves when done (or failed). */
  async drain(): Promise<void> {
    await this.flush();
    await this.seal();
    await this.upload();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain().catch(() => undefined);
    this.closed = true;
    clearTimeout(this.sealTimer);
    clearTimeout(this.retryTimer);
    await this.handle?.close();
    this.handle = undefined;
  }

  /**
   * Appends and seals take turns on one chain: a seal never closes the segment between an append
   * choosing its place (segment, index) and writing there.
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private flush(): Promise<void> {
    this.flushing ??= this.exclusive(() => this.writeQueued()).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) void this.flush();
    });
    return this.flushing;
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue.splice(0);
    if (batch.length === 0) return;
    try {
      const handle = await this.openSegment();
      const frames = batch.map(({ body }) =>
        frame(
          this.options.crypto.encrypt(
            body,
            recordContext(this.replica, this.segment, this.index++),
          ),
        ),
      );
      const bytes = Buffer.concat(frames);
      await handle.write(bytes);
      await handle.sync();
      this.size += bytes.length;
      this.firstAt ??= Date.now();
      for (const item of batch) item.resolve();
      if (this.size >= (this.options.maxSegmentBytes ?? 16 * 1024 * 1024)) void this.seal();
      else this.sealTimer ??= setTimeout(() => void this.seal(), this.options.maxDelayMs).unref();
    } catch (error) {
      this.failures += 1;
      this.options.logger.error({ err: error }, 'conversation log: append failed');
      for (const item of batch) item.reject(error);
    }
  }

  private async openSegment(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    this.handle = await open(join(this.options.folder, 'open.seg'), 'a', 0o600);
    await syncDirectory(this.options.folder);
    return this.handle;
  }

  /** Closes the open segment into `sealed/<segment>` (after pending appends), then uploads. */
  private async seal(): Promise<void> {
    clearTimeout(this.sealTimer);
    this.sealTimer = undefined;
    const firstAt = await this.exclusive(() => this.sealOpen());
    if (firstAt === null) return;
    this.unshippedSince ??= firstAt;
    await this.upload();
  }

  /** The open segment renamed into `sealed/`; resolves to its first record's time (null: none). */
  private async sealOpen(): Promise<number | null> {
    if (!this.handle || this.size === 0) return null;
    const handle = this.handle;
    this.handle = undefined;
    await handle.close();
    const sealed = join(
      this.options.folder,
      'sealed',
      `${String(this.segment).padStart(12, '0')}.seg`,
    );
    await rename(join(this.options.folder, 'open.seg'), sealed);
    await syncDirectory(join(this.options.folder, 'sealed'));
    const firstAt = this.firstAt ?? Date.now();
    this.segment += 1;
    this.index = 0;
    this.size = 0;
    this.firstAt = undefined;
    return firstAt;
  }

  /** Uploads every sealed segment, oldest first; a failure retries in a few seconds. */
  private upload(): Promise<void> {
    if (this.uploading) {
      // Segments sealed while an upload runs go in a pass right after it.
      this.uploadAgain = true;
      return this.uploading;
    }
    this.uploading = (async () => {
      do {
        this.uploadAgain = false;
        await this.uploadSealed();
      } while (this.uploadAgain);
    })().finally(() => {
      this.uploading = undefined;
    });
    return this.uploading;
  }

  private async uploadSealed(): Promise<void> {
    // This pass ships what waited since then; a segment sealed meanwhile starts the next count.
    const since = this.unshippedSince;
    this.unshippedSince = undefined;
    this.shippingSince = since;
    try {
      await this.uploadEach(since);
    } finally {
      this.shippingSince = undefined;
    }
  }

  private async uploadEach(since: number | undefined): Promise<void> {
    const folder = join(this.options.folder, 'sealed');
    for (const name of (await readdir(folder)).filter((n) => /^\d{12}\.seg$/.test(n)).sort()) {
      const path = join(folder, name);
      const bytes = await readFile(path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      try {
        await this.options.objects.put(
          segmentKey(this.replica, Number(name.slice(0, 12)), sha256),
          bytes,
        );
      } catch (error) {
        this.failures += 1;
        this.options.logger.warn(
          { err: error, segment: name },
          'conversation log: upload failed; retrying',
        );
        // Still waiting: the lag of what the retry ships counts from the oldest record.
        if (since !== undefined) {
          this.unshippedSince = Math.min(since, this.unshippedSince ?? since);
        }
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.upload(), 2_000).unref();
        return;
      }
      await unlink(path);
      this.shipped += 1;
      if (since !== undefined) this.lastLagMs = Date.now() - since;
    }
  }

  /** Continues numbering after the newest local segment; cuts a torn tail, ships what is left. */
  private async recover(): Promise<void> {
    const sealed = (await readdir(join(this.options.folder, 'sealed'))).filter((n) =>
      /^\d{12}\.seg$/.test(n),
    );
    let next = sealed.length === 0 ? 0 : Math.max(...sealed.map((n) => Number(n.slice(0, 12)))) + 1;
    for await (const info of this.options.objects.list(`conversation-log/${this.replica}/`)) {
      next = Math.max(next, Number(info.key.split('/').at(-1)!.slice(0, 12)) + 1);
    }
    this.segment = next;
    const openPath = join(this.options.folder, 'open.seg');
    const data = await readFile(openPath).catch(() => undefined);
    if (data) {
      const { length } = readFrames(data);
      if (length < data.length) {
        this.options.logger.warn(
          { cut_bytes: data.length - length },
          'conversation log: cut a torn tail left by a crash',
        );
        await truncate(openPath, length);
      }
      if (length === 0) await unlink(openPath);
      else {
        this.handle = await open(openPath, 'a', 0o600);
        this.size = length;
        this.firstAt = Date.now();
        // The records already in it were numbered from 0 in this segment.
        this.index = readFrames(data.subarray(0, length)).frames.length;
        await this.seal();
      }
    }
    await this.upload();
  }

  /**
   * When the oldest record not yet in the object store was appended: in the open segment, a
   * sealed one waiting, or one being uploaded. Undefined when everything is shipped.
   */
  get oldestUnshippedAt(): number | undefined {
    let oldest: number | undefined;
    for (const time of [this.firstAt, this.unshippedSince, this.shippingSince]) {
      if (time !== undefined && (oldest === undefined || time < oldest)) oldest = time;
    }
    return oldest;
  }

  get replicaId(): string {
    return this.replica;
  }
}
