import { randomBytes } from 'node:crypto';
import { open, readFile, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatBytes } from '../../util/format-bytes.js';
import { fail, messageOf, pass, skip, warn, type Check, type CheckOutcome } from './check.js';

/** Free space below this fails: the SQLite WAL, log segments and backups stop being written. */
export const diskFailBytes = 100 * 2 ** 20;
/** Free space below this warns: about a day of a busy server's WAL and log segments. */
export const diskWarnBytes = 2 ** 30;
/** Free space below this share of the file system warns too (large disks filling up). */
export const diskWarnFraction = 0.1;

/**
 * The data dir is writable (a file made, read back and deleted inside it; when the dir does not
 * exist yet, the same in the nearest existing parent, which the server will create it from) and
 * its file system has room.
 */
export function dataDirChecks(dataDir: string): Check[] {
  return [
    {
      id: 'data-dir-writable',
      title: 'Data dir writable',
      run: async () => {
        const existing = await nearestExisting(dataDir);
        if (!(await stat(existing)).isDirectory()) {
          return fail(`${existing} is not a directory`);
        }
        const probe = await writeProbe(existing);
        if (probe !== undefined) return fail(`cannot write in ${existing}: ${probe}`);
        return existing === dataDir
          ? pass(`${dataDir} is writable`)
          : pass(`${dataDir} does not exist; will be created (${existing} is writable)`);
      },
    },
    {
      id: 'data-dir-disk',
      title: 'Data dir free disk',
      run: async () => diskSpace(await nearestExisting(dataDir)),
    },
  ];
}

/**
 * The log file (`log_file`) can be appended to: an existing file is opened for appending and
 * closed (nothing written); a missing one needs a writable folder, which the server does not
 * create (it opens the file at start and stops there if it cannot).
 */
export function logFileCheck(logFile: string | undefined): Check {
  return {
    id: 'log-file',
    title: 'Log file',
    run: async () => {
      if (logFile === undefined) return skip('no log_file configured: logs go to stdout');
      let info;
      try {
        info = await stat(logFile);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          return fail(`cannot read ${logFile}: ${messageOf(error)}`);
        }
      }
      if (info !== undefined) {
        if (!info.isFile()) return fail(`${logFile} is not a file`);
        try {
          await (await open(logFile, 'a')).close();
        } catch (error) {
          return fail(`cannot append to ${logFile}: ${messageOf(error)}`);
        }
        return pass(`${logFile} can be appended to`);
      }
      const folder = dirname(logFile);
      const folderInfo = await stat(folder).catch(() => undefined);
      if (folderInfo === undefined || !folderInfo.isDirectory()) {
        return fail(
          `${folder} does not exist: the server opens ${logFile} at start and would stop`,
        );
      }
      const probe = await writeProbe(folder);
      if (probe !== undefined) return fail(`cannot write in ${folder}: ${probe}`);
      return pass(`${logFile} will be created (${folder} is writable)`);
    },
  };
}

/** The path itself when it exists, else its closest existing ancestor. */
async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(current) === current) throw error;
    }
  }
}

/** Creates a file of its own (never an existing one), reads it back, deletes it; undefined: ok. */
async function writeProbe(directory: string): Promise<string | undefined> {
  const path = join(directory, `.assistd-doctor-${randomBytes(6).toString('hex')}`);
  const content = randomBytes(16);
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? messageOf(error);
  }
  try {
    await handle.writeFile(content);
    await handle.close();
    handle = undefined;
    const back = await readFile(path);
    return back.equals(content) ? undefined : 'the file read back differs from what was written';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? messageOf(error);
  } finally {
    await handle?.close();
    await unlink(path).catch(() => undefined);
  }
}

/** Free space (for this user: `bavail`, not `bfree`, which counts root's reserve) on `path`. */
export async function diskSpace(path: string): Promise<CheckOutcome> {
  const info = await statfs(path);
  const free = info.bavail * info.bsize;
  const total = info.blocks * info.bsize;
  const share = total > 0 ? free / total : 1;
  const detail = `${formatBytes(free)} free of ${formatBytes(total)} (${(share * 100).toFixed(1)} %) on the file system of ${path}`;
  if (free < diskFailBytes) return fail(`${detail}; needs at least ${formatBytes(diskFailBytes)}`);
  if (free < diskWarnBytes || share < diskWarnFraction) {
    return warn(`${detail}; below ${formatBytes(diskWarnBytes)} or ${diskWarnFraction * 100} %`);
  }
  return pass(detail);
}
