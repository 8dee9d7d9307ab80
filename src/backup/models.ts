import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { Chunker } from './chunker.js';
import { BackupRepository, snapshotId, type Snapshot, type SnapshotFile } from './repository.js';
import { snapshotsToKeep, type RetentionPolicy } from './retention.js';

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
  /** Entries that are not files (links to folders, broken links, sockets), relative: not kept. */
  skipped: string[];
}

/**
 * The files under `folder`, relative, sorted, and what was skipped. A symbolic link to a file is
 * a file (its content is backed up under the link's name and restored as a plain file: model
 * folders such as a Hugging Face snapshot are links into a blob store); a link to a folder, a
 * broken link, a socket or a device is skipped and named.
 */
async function filesUnder(folder: string): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(folder, path).split(sep).join('/');
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(name);
      else if (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile()) {
        files.push(name);
      } else skipped.push(name);
    }
  };
  await walk(folder);
  return { files: files.sort(), skipped: skipped.sort() };
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
    const { files: paths, skipped } = await filesUnder(source);
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
      const chunks: string[] = [];
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
      const chunker = new Chunker();
      for await (const piece of createReadStream(join(source, path), { highWaterMark: 1 << 20 })) {
        for (const chunk of chunker.push(piece as Buffer)) await store(chunk);
      }
      const last = chunker.end();
      if (last) await store(last);
      files.push({
        path,
        size: fileStat.size,
        mode: fileStat.mode & 0o777,
        mtimeMs: fileStat.mtimeMs,
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

/** Decrypts and re-hashes every chunk, and checks that every snapshot's chunks exist. */
export async function verifyRepository(
  repository: BackupRepository,
  options: { progress?: Progress } = {},
): Promise<VerifyResult> {
  const problems: string[] = [];
  const hashes = [...(await repository.chunkHashes())];
  let bytes = 0;
  for (const [index, hash] of hashes.entries()) {
    try {
      bytes += (await repository.getChunk(hash)).length;
    } catch (error) {
      problems.push(`chunk ${hash}: ${(error as Error).message}`);
    }
    options.progress?.(index + 1, hashes.length);
  }
  const present = new Set(hashes);
  let snapshots = 0;
  for await (const info of repository.objects.list('snapshots/')) {
    const id = info.key.slice('snapshots/'.length);
    snapshots += 1;
    try {
      const snapshot = await repository.snapshot(id);
      for (const file of snapshot.files) {
        const missing = file.chunks.filter((hash) => !present.has(hash));
        if (missing.length > 0)
          problems.push(`snapshot ${id}: ${file.path} lacks ${missing.length} chunks`);
      }
    } catch (error) {
      problems.push(`snapshot ${id}: ${(error as Error).message}`);
    }
  }
  return { snapshots, chunks: hashes.length, bytes, problems };
}

/**
 * Forgets the snapshots the policy does not keep, then deletes the chunks no remaining snapshot
 * names. Snapshots go first: a prune stopped halfway leaves unreferenced chunks (removed by the
 * next prune), never a snapshot without its chunks.
 */
export async function pruneRepository(
  repository: BackupRepository,
  policy: RetentionPolicy,
): Promise<{ removedSnapshots: string[]; removedChunks: number; keptSnapshots: number }> {
  return repository.withLock('prune', async () => {
    const snapshots = await repository.snapshots();
    const keep = snapshotsToKeep(snapshots, policy);
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
