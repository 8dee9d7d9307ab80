import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { Chunker } from './chunker.js';
import { BackupRepository, snapshotId, type Snapshot, type SnapshotFile } from './repository.js';
import { snapshotsToKeepPerFolder, type RetentionPolicy } from './retention.js';
import { ObjectDataKeys } from './object-data-keys.js';

/** Bytes read so far and in all, for a progress bar. */
export type Progress = (done: number, total: number) => void;

export interface BackupResult {
  snapshot: Snapshot;
  files: number;
  totalBytes: number;
  /** Files whose size and mtime matched the previous snapshot: not read again. */
  unchangedFiles: number;
  /** Chunks uploaded, and their plaintext bytes. */
  newChunks: number;
  addedBytes: number;
  /**
   * Entries not kept, relative: those that are not files (links to folders, broken links,
   * sockets) and those named in `undecodable`.
   */
  skipped: string[];
  /**
   * Of `skipped`, the files and folders whose names are not UTF-8, their odd bytes as `\xNN`: a
   * snapshot keeps names as JSON strings, which cannot hold them.
   */
  undecodable: string[];
}

/** Reads of a file that changes while it is read, before the backup gives up on it. */
const readAttempts = 3;

/** A file kept changing while it was read: no snapshot is saved rather than one with half of it. */
export class FileChangedError extends Error {
  constructor(readonly path: string) {
    super(
      `${path} changed while it was read, ${readAttempts} times in a row; no snapshot was ` +
        'saved (back up again once nothing writes to it)',
    );
    this.name = 'FileChangedError';
  }
}

/**
 * The files under `folder`, relative, sorted, and what was skipped. A symbolic link to a file is
 * a file (its content is backed up under the link's name and restored as a plain file: model
 * folders such as a Hugging Face snapshot are links into a blob store); a link to a folder, a
 * broken link, a socket or a device is skipped and named. Names are read as bytes: one that is not
 * UTF-8 would come back with U+FFFD in it, naming no file, so it is skipped (with what is under it).
 */
async function filesUnder(
  folder: string,
): Promise<{ files: string[]; skipped: string[]; undecodable: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const undecodable: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const decoded = utf8(entry.name);
      const relativeDir = relative(folder, dir).split(sep).join('/');
      if (decoded === undefined) {
        undecodable.push(
          relativeDir === '' ? escaped(entry.name) : `${relativeDir}/${escaped(entry.name)}`,
        );
        continue;
      }
      const path = join(dir, decoded);
      const name = relative(folder, path).split(sep).join('/');
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(name);
      else if (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile()) {
        files.push(name);
      } else skipped.push(name);
    }
  };
  await walk(folder);
  return {
    files: files.sort(),
    skipped: [...skipped, ...undecodable].sort(),
    undecodable: undecodable.sort(),
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The name as text, or undefined when its bytes are not UTF-8. */
function utf8(name: Buffer): string | undefined {
  try {
    return strictUtf8.decode(name);
  } catch {
    return undefined;
  }
}

/** A name for messages: printable ASCII as it is, every other byte as `\xNN`. */
function escaped(name: Buffer): string {
  return [...name]
    .map((byte) =>
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

/**
 * Cuts the file at `path` into chunks, handing each to `store`; resolves to its stat when the file
 * did not change while it was read, undefined when it did. As restic does, size, times and inode
 * are compared before and after (a write moves mtime and ctime, a replacement the inode), and the
 * bytes read must be as many as the size.
 */
async function chunkFile(
  path: string,
  store: (chunk: Buffer) => Promise<void>,
): Promise<Stats | undefined> {
  const before = await stat(path);
  const chunker = new Chunker();
  let read = 0;
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    read += (piece as Buffer).length;
    for (const chunk of chunker.push(piece as Buffer)) await store(chunk);
  }
  const last = chunker.end();
  if (last) await store(last);
  const after = await stat(path);
  const same =
    read === before.size &&
    after.size === before.size &&
    after.mtimeMs === before.mtimeMs &&
    after.ctimeMs === before.ctimeMs &&
    after.ino === before.ino &&
    after.dev === before.dev;
  return same ? after : undefined;
}

/** The folder to back up does not exist or is not a folder. */
export class NotAFolderError extends Error {
  constructor(readonly path: string) {
    super(`${path} is not a folder`);
    this.name = 'NotAFolderError';
  }
}

/**
 * `folder` as an absolute path, or `NotAFolderError`. Checked before the repository is opened
 * too (runner.ts): opening one stores a data key, which a run that cannot start should not leave.
 */
export async function existingFolder(folder: string): Promise<string> {
  const source = resolve(folder);
  const info = await stat(source).catch(() => undefined);
  if (!info?.isDirectory()) throw new NotAFolderError(source);
  return source;
}

/**
 * An incremental snapshot of `folder`: files cut into content-defined chunks, only chunks the
 * repository lacks uploaded, then the snapshot. A file whose size and mtime match the newest
 * snapshot of the same folder is taken from it without reading.
 */
export async function backupFolder(
  repository: BackupRepository,
  folder: string,
  options: { progress?: Progress; now?: number } = {},
): Promise<BackupResult> {
  const source = await existingFolder(folder);
  return repository.withLock('backup', async () => {
    const stored = await repository.chunkHashes();
    // A damaged snapshot is passed over: the newest readable one of this folder serves.
    const { snapshots } = await repository.readableSnapshots();
    const previous = snapshots.filter((s) => s.source === source).at(-1);
    const earlier = new Map(previous?.files.map((file) => [file.path, file]));
    const { files: paths, skipped, undecodable } = await filesUnder(source);
    const stats = await Promise.all(paths.map((path) => stat(join(source, path))));
    const totalBytes = stats.reduce((sum, s) => sum + s.size, 0);
    let done = 0;
    let addedBytes = 0;
    let newChunks = 0;
    let unchangedFiles = 0;
    const files: SnapshotFile[] = [];
    for (const [index, path] of paths.entries()) {
      const fileStat = stats[index]!;
      const before = earlier.get(path);
      if (
        before &&
        before.size === fileStat.size &&
        microseconds(before.mtimeMs) === microseconds(fileStat.mtimeMs)
      ) {
        files.push({ ...before, mode: fileStat.mode & 0o777 });
        unchangedFiles += 1;
        done += fileStat.size;
        options.progress?.(done, totalBytes);
        continue;
      }
      let chunks: string[] = [];
      const store = async (chunk: Buffer) => {
        const hash = createHash('sha256').update(chunk).digest('hex');
        chunks.push(hash);
        if (!stored.has(hash)) {
          await repository.putChunk(hash, chunk);
          stored.add(hash);
          newChunks += 1;
          addedBytes += chunk.length;
        }
        done += chunk.length;
        options.progress?.(done, totalBytes);
      };
      // A file that changed while it was read is read again: stored as read, it would be its old
      // start and its new end. Chunks of a torn read stay until a prune finds them unused.
      const doneBefore = done;
      let read: Stats | undefined;
      for (let attempt = 0; read === undefined; attempt++) {
        if (attempt === readAttempts) throw new FileChangedError(join(source, path));
        chunks = [];
        done = doneBefore;
        read = await chunkFile(join(source, path), store);
      }
      files.push({
        path,
        size: read.size,
        mode: read.mode & 0o777,
        mtimeMs: read.mtimeMs,
        chunks,
      });
    }
    const time = options.now ?? Date.now();
    const snapshot: Snapshot = {
      id: snapshotId(time),
      time,
      host: hostname(),
      source,
      files,
      addedBytes,
    };
    // Last: every chunk it names is stored by now.
    await repository.saveSnapshot(snapshot);
    return {
      snapshot,
      files: files.length,
      totalBytes,
      unchangedFiles,
      newChunks,
      addedBytes,
      skipped,
      undecodable,
    };
  });
}

export interface VerifyResult {
  snapshots: number;
  chunks: number;
  bytes: number;
  /** What is wrong, one line each; empty when the repository is sound. */
  problems: string[];
}

/**
 * Decrypts and re-hashes every chunk, and checks that every snapshot can be read and has its
 * chunks, whole. A damaged data key is named first: the chunks and snapshots it encrypted follow.
 */
export async function verifyRepository(
  repository: BackupRepository,
  options: { progress?: Progress } = {},
): Promise<VerifyResult> {
  const problems: string[] = [];
  for (const { id, reason } of await new ObjectDataKeys(repository.objects).damaged()) {
    problems.push(
      `data key ${id} (keys/${id}) is damaged, what it encrypted cannot be read: ${reason}`,
    );
  }
  const hashes = [...(await repository.chunkHashes())];
  const damaged = new Set<string>();
  let bytes = 0;
  for (const [index, hash] of hashes.entries()) {
    try {
      bytes += (await repository.getChunk(hash)).length;
    } catch (error) {
      damaged.add(hash);
      problems.push(`chunk ${hash}: ${(error as Error).message}`);
    }
    options.progress?.(index + 1, hashes.length);
  }
  const present = new Set(hashes);
  const ids = await repository.snapshotIds();
  for (const id of ids) {
    try {
      const snapshot = await repository.snapshot(id);
      for (const file of snapshot.files) {
        const missing = file.chunks.filter((hash) => !present.has(hash));
        if (missing.length > 0)
          problems.push(`snapshot ${id}: ${file.path} lacks ${missing.length} chunks`);
        const unreadable = file.chunks.filter((hash) => damaged.has(hash));
        if (unreadable.length > 0)
          problems.push(`snapshot ${id}: ${file.path} has ${unreadable.length} damaged chunks`);
      }
    } catch (error) {
      problems.push(`snapshot ${id}: ${(error as Error).message}`);
    }
  }
  return { snapshots: ids.length, chunks: hashes.length, bytes, problems };
}

/**
 * Forgets the snapshots the policy does not keep (applied to each host and folder alone, so every
 * folder keeps its newest snapshot), then deletes the chunks no remaining snapshot
 * names. Snapshots go first: a prune stopped halfway leaves unreferenced chunks (removed by the
 * next prune), never a snapshot without its chunks.
 */
export async function pruneRepository(
  repository: BackupRepository,
  policy: RetentionPolicy,
): Promise<{ removedSnapshots: string[]; removedChunks: number; keptSnapshots: number }> {
  return repository.withLock('prune', async () => {
    const snapshots = await repository.snapshots();
    const keep = snapshotsToKeepPerFolder(snapshots, policy);
    const removed = snapshots.filter((snapshot) => !keep.has(snapshot.id));
    for (const snapshot of removed) await repository.deleteSnapshot(snapshot.id);
    const referenced = new Set<string>();
    for (const snapshot of snapshots) {
      if (!keep.has(snapshot.id)) continue;
      for (const file of snapshot.files) for (const hash of file.chunks) referenced.add(hash);
    }
    let removedChunks = 0;
    for (const hash of await repository.chunkHashes()) {
      if (referenced.has(hash)) continue;
      await repository.objects.delete(BackupRepository.chunkKey(hash));
      removedChunks += 1;
    }
    return {
      removedSnapshots: removed.map((snapshot) => snapshot.id),
      removedChunks,
      keptSnapshots: keep.size,
    };
  });
}

/** A file time in whole microseconds: what `utimes` can set, so what a restore gives back. */
function microseconds(mtimeMs: number): number {
  return Math.round(mtimeMs * 1000);
}

/**
 * The seconds to pass to `utimes` so that the file gets `mtimeMs` to the nearest microsecond.
 *
 * Node.js passes the number to libuv, which keeps whole microseconds and drops the rest (it
 * truncates); a Date would keep only milliseconds. Passing the microsecond itself would land on
 * the one below half the time, since the nearest double to it is below as often as above (about
 * 0.12 µs apart at today's times). Aiming at the middle of the microsecond keeps that error
 * inside it while half the spacing of doubles is under 0.5 µs: until 2^33 s, the year 2242.
 * The next backup compares times in microseconds, so it finds a restored file unchanged.
 */
export function utimesSeconds(mtimeMs: number): number {
  return (microseconds(mtimeMs) + 0.5) / 1e6;
}
