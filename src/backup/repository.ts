import { createHash, randomBytes } from 'node:crypto';
import { CryptoError, type EnvelopeCrypto } from '../security/crypto/index.js';
import type { ObjectStore } from './object-store/types.js';
import { type LockKind, withRepositoryLock } from './repository-lock.js';

/** One file of a snapshot: its place under the backed-up folder and its chunks, in order. */
export interface SnapshotFile {
  path: string;
  size: number;
  mode: number;
  mtimeMs: number;
  chunks: string[];
}

export interface Snapshot {
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  host: string;
  /** The folder that was backed up, as given. */
  source: string;
  files: SnapshotFile[];
  /** Bytes of chunks this snapshot uploaded (the rest were stored already). */
  addedBytes: number;
}

/** What `snapshotId` makes. */
const snapshotIdPattern = /^[0-9TZ-]+-[0-9a-f]{8}$/;

/** How a stored snapshot that cannot be read fails: its ciphertext or its JSON is damaged. */
function isDamagedSnapshot(error: unknown): error is Error {
  return error instanceof CryptoError || error instanceof SyntaxError;
}

/** A snapshot that cannot be read, where every snapshot must be (a prune). */
export class UnreadableSnapshotError extends Error {
  constructor(
    readonly id: string,
    reason: string,
  ) {
    super(
      `snapshot ${id} cannot be read (${reason}); prune needs every snapshot: ` +
        `remove snapshots/${id} from the repository if it is beyond repair, then prune again`,
    );
    this.name = 'UnreadableSnapshotError';
  }
}

/**
 * A backup repository in an object store, in restic's shape: chunks stored once under the
 * SHA-256 of their plaintext (`chunks/<2 hex>/<64 hex>`), each encrypted (AES-256-GCM envelope
 * under the master key, the hash bound as context); snapshots (`snapshots/<id>`) encrypted
 * likewise; the data keys in `keys/`. Writers put chunks first and the snapshot last, so a crash
 * never leaves a snapshot pointing at a chunk that is not there.
 */
export class BackupRepository {
  constructor(
    readonly objects: ObjectStore,
    private readonly crypto: EnvelopeCrypto,
  ) {}

  static chunkKey(hash: string): string {
    return `chunks/${hash.slice(0, 2)}/${hash}`;
  }

  /** Every chunk hash stored. */
  async chunkHashes(): Promise<Set<string>> {
    const hashes = new Set<string>();
    for await (const info of this.objects.list('chunks/')) {
      const hash = info.key.split('/').at(-1)!;
      if (/^[0-9a-f]{64}$/.test(hash)) hashes.add(hash);
    }
    return hashes;
  }

  /** Encrypts and stores one chunk; resolves to its hash. */
  async putChunk(hash: string, plaintext: Uint8Array): Promise<void> {
    await this.objects.put(
      BackupRepository.chunkKey(hash),
      this.crypto.encrypt(plaintext, `backup-chunk:${hash}`),
    );
  }

  /** The chunk's plaintext, checked against its hash; throws when missing, altered or corrupt. */
  async getChunk(hash: string): Promise<Buffer> {
    const sealed = await this.objects.get(BackupRepository.chunkKey(hash));
    if (!sealed) throw new Error(`chunk ${hash} is missing`);
    const plaintext = await this.crypto.decryptAsync(sealed, `backup-chunk:${hash}`);
    if (createHash('sha256').update(plaintext).digest('hex') !== hash) {
      throw new Error(`chunk ${hash} does not match its hash`);
    }
    return plaintext;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const sealed = this.crypto.encrypt(JSON.stringify(snapshot), `backup-snapshot:${snapshot.id}`);
    await this.objects.put(`snapshots/${snapshot.id}`, sealed);
  }

  /**
   * Every snapshot, oldest first; throws `UnreadableSnapshotError` when one cannot be read (what
   * a prune needs: it cannot know which chunks an unreadable snapshot names).
   */
  async snapshots(): Promise<Snapshot[]> {
    const { snapshots, unreadable } = await this.readableSnapshots();
    const [first] = unreadable;
    if (first !== undefined) throw new UnreadableSnapshotError(first.id, first.reason);
    return snapshots;
  }

  /**
   * The snapshots that can be read, oldest first, and those that cannot (altered, truncated,
   * under a data key that is gone), with why: one damaged snapshot does not hide the others from
   * a listing, nor stop the next backup.
   */
  async readableSnapshots(): Promise<{
    snapshots: Snapshot[];
    unreadable: { id: string; reason: string }[];
  }> {
    const snapshots: Snapshot[] = [];
    const unreadable: { id: string; reason: string }[] = [];
    for (const id of await this.snapshotIds()) {
      try {
        snapshots.push(await this.snapshot(id));
      } catch (error) {
        if (!isDamagedSnapshot(error)) throw error;
        unreadable.push({ id, reason: error.message });
      }
    }
    snapshots.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
    return { snapshots, unreadable };
  }

  /**
   * The newest `limit` snapshots, newest first, decrypting only those: ids begin with their UTC
   * second (`snapshotId`), so sorting the listed keys orders them by time without reading them.
   * `more`: older snapshots exist beyond the `limit`; `unreadable`: ids among them that cannot be
   * read (damaged), left out.
   */
  async newestSnapshots(
    limit: number,
  ): Promise<{ snapshots: Snapshot[]; more: boolean; unreadable: string[] }> {
    const ids = await this.snapshotIds();
    ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const unreadable: string[] = [];
    const read = await Promise.all(
      ids.slice(0, limit).map((id) =>
        this.snapshot(id).catch((error: unknown) => {
          if (!isDamagedSnapshot(error)) throw error;
          unreadable.push(id);
          return undefined;
        }),
      ),
    );
    const snapshots = read.filter((snapshot) => snapshot !== undefined);
    // Within one second the id's random suffix decides nothing: the stored time does.
    snapshots.sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
    return { snapshots, more: ids.length > limit, unreadable: unreadable.sort().reverse() };
  }

  /**
   * The ids under `snapshots/`. Other objects there (a note someone left, the empty "folder"
   * object some S3 tools make) are no snapshots: passed over, they stop no listing, backup or
   * prune.
   */
  async snapshotIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const info of this.objects.list('snapshots/')) {
      const id = info.key.slice('snapshots/'.length);
      if (snapshotIdPattern.test(id)) ids.push(id);
    }
    return ids;
  }

  async snapshot(id: string): Promise<Snapshot> {
    if (!snapshotIdPattern.test(id)) throw new Error(`no snapshot ${id}`);
    const sealed = await this.objects.get(`snapshots/${id}`);
    if (!sealed) throw new Error(`no snapshot ${id}`);
    const text = await this.crypto.decryptAsync(sealed, `backup-snapshot:${id}`);
    return JSON.parse(text.toString('utf8')) as Snapshot;
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.objects.delete(`snapshots/${id}`);
  }

  /** Runs `work` holding a lock of `kind` on this repository (repository-lock.ts). */
  withLock<T>(kind: LockKind, work: () => Promise<T>): Promise<T> {
    return withRepositoryLock(this.objects, kind, `locks/${kind}-${snapshotId(Date.now())}`, work);
  }
}

/** Time-ordered, readable and unique: `20261127T031500Z-1a2b3c4d`. */
export function snapshotId(time: number): string {
  const stamp = new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}
