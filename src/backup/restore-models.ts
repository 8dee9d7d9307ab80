import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  utimes,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { DecryptionError } from '../security/crypto/index.js';
import { ensureFolder } from '../util/data-dir.js';
import { syncDirectory } from '../util/durable-file.js';
import { utimesSeconds, type Progress } from './models.js';
import type { BackupRepository, SnapshotFile } from './repository.js';

/** The hidden folder a restore writes into inside its target (`.restoring-XXXXXX`). */
const stagingPrefix = '.restoring-';

/**
 * A restore the operator can act on (a target that cannot be used, a damaged or missing chunk):
 * its message says what and where, and nothing was left in the target.
 */
export class RestoreError extends Error {
  /**
   * @param damaged true when the repository is at fault (a chunk missing, damaged or not matching
   *   its hash; `backup verify` finds those too), false for the target or the request.
   */
  constructor(
    message: string,
    readonly damaged = false,
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

/**
 * Writes the snapshot's files under `target` (which must be empty or absent), each chunk checked
 * against its hash, with each file's mode and mtime, all or nothing: the files are written and
 * fsynced in a hidden folder inside the target (`.restoring-…`) and moved into place only once
 * every one was rebuilt. A file that cannot be rebuilt (a chunk missing, damaged or altered) stops
 * the restore with `RestoreError` naming the file and the chunk, and leaves the target as it was
 * (removed again if the restore created it). Staging inside the target, rather than beside it,
 * keeps the final moves on one file system and works when the target is a mount point. What a
 * killed restore left there is removed by the next one.
 */
export async function restoreSnapshot(
  repository: BackupRepository,
  id: string,
  target: string,
  options: { progress?: Progress } = {},
): Promise<{ files: number; bytes: number }> {
  const snapshot = await repository.snapshot(id);
  const destination = resolve(target);
  const created = await emptyTarget(destination);
  let staging: string;
  try {
    staging = await mkdtemp(join(destination, stagingPrefix));
  } catch (error) {
    if (created) await rmdir(destination).catch(() => undefined);
    throw targetFailure(destination, error);
  }
  const total = snapshot.files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  try {
    for (const file of snapshot.files) {
      const path = resolve(staging, ...file.path.split('/'));
      if (!path.startsWith(staging + sep)) {
        throw new RestoreError(`snapshot ${id} holds a path that escapes its folder: ${file.path}`);
      }
      await writeFile(repository, file, path, (bytes) => {
        done += bytes;
        options.progress?.(done, total);
      });
    }
    for (const entry of await readdir(staging)) {
      await rename(join(staging, entry), join(destination, entry));
    }
    await rmdir(staging);
    await syncDirectory(destination);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (created) await rmdir(destination).catch(() => undefined);
    if (error instanceof RestoreError) throw error;
    throw new RestoreError(
      `restore of snapshot ${id} stopped, nothing was written to ${destination}: ${(error as Error).message}`,
    );
  }
  return { files: snapshot.files.length, bytes: total };
}

/** Rebuilds one file at `path` from its chunks, fsynced, with its size, mode and mtime checked. */
async function writeFile(
  repository: BackupRepository,
  file: SnapshotFile,
  path: string,
  wrote: (bytes: number) => void,
): Promise<void> {
  // Inside the staging folder just made: an ordinary file system.
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'wx', 0o600);
  try {
    for (const hash of file.chunks) {
      const chunk = await repository.getChunk(hash).catch((error: unknown) => {
        const why =
          error instanceof DecryptionError
            ? 'is damaged (it fails authentication)'
            : (error as Error).message.replace(/^chunk \S+ /, '');
        throw new RestoreError(
          `cannot restore ${file.path}: its chunk ${hash} ${why}; nothing was written ` +
            '(`backup verify` lists every damaged chunk; restore an older snapshot)',
          true,
        );
      });
      await handle.write(chunk);
      wrote(chunk.length);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  const written = (await stat(path)).size;
  if (written !== file.size) {
    throw new RestoreError(
      `cannot restore ${file.path}: rebuilt ${written} bytes of ${file.size}`,
      true,
    );
  }
  await chmod(path, file.mode);
  const seconds = utimesSeconds(file.mtimeMs);
  await utimes(path, seconds, seconds);
}

/**
 * The target folder failed (read-only, immutable, no permission, a path too long): the operator's
 * to fix, named as the target, not taken for a fault of the object store.
 */
function targetFailure(destination: string, error: unknown): RestoreError {
  // Node's message starts with the code: "EPERM: operation not permitted, mkdtemp '…'".
  return new RestoreError(
    `the restore target ${destination} cannot be written (${(error as Error).message}); ` +
      'nothing was restored',
  );
}

/**
 * Checks that `destination` is an empty folder or absent, creating it then; true when created.
 * Folders are made one level at a time (`ensureFolder`: Node's recursive mkdir never returns
 * under `/proc`).
 */
async function emptyTarget(destination: string): Promise<boolean> {
  const found = await stat(destination).catch(() => undefined);
  if (found !== undefined) {
    if (!found.isDirectory()) throw new RestoreError(`${destination} is a file, not a folder`);
    const entries = await readdir(destination).catch((error: unknown) => {
      throw targetFailure(destination, error);
    });
    // What a restore that was killed left behind: removed, then the target counts as empty.
    const leftovers = entries.filter((entry) => entry.startsWith(stagingPrefix));
    if (entries.length > leftovers.length) throw new RestoreError(`${destination} is not empty`);
    for (const entry of leftovers) {
      await rm(join(destination, entry), { recursive: true, force: true }).catch(
        (error: unknown) => {
          throw targetFailure(destination, error);
        },
      );
    }
    return false;
  }
  try {
    ensureFolder(destination, 'the restore target', '--to', 0o777);
  } catch (error) {
    throw new RestoreError((error as Error).message);
  }
  return true;
}
