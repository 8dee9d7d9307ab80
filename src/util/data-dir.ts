import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StartupError } from '../providers/startup-error.js';

/**
 * Makes sure the data dir exists (mode 0700 for what it creates), or says clearly why it cannot:
 * a part of the path is a file, or a folder cannot be created there. Folders are made one level
 * at a time: Node's recursive `mkdir` never returns for a path under `/proc` (it retries forever
 * at full CPU), and its errors name a syscall rather than the setting.
 */
export function ensureDataDir(path: string): void {
  ensureFolder(path, 'the data dir', '--data-dir, ASSISTD_DATA_DIR');
}

/**
 * `ensureDataDir` for any folder a command writes into: `label` names it in the message and
 * `setting` says where it comes from; folders it creates get `mode` (less the umask).
 */
export function ensureFolder(path: string, label: string, setting: string, mode = 0o700): void {
  const target = resolve(path);
  const missing: string[] = [];
  for (let at = target; ;) {
    let isFolder: boolean;
    try {
      isFolder = statSync(at).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw refused(target, error, label, setting);
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
      continue;
    }
    if (!isFolder) {
      throw new StartupError(
        `${label} ${target} cannot be used: ${at} is a file, not a folder (${setting})`,
      );
    }
    break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, { mode });
    } catch (error) {
      // Made meanwhile by another process: fine.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw refused(target, error, label, setting);
      }
    }
  }
}

function refused(target: string, error: unknown, label: string, setting: string): StartupError {
  const { code, message } = error as NodeJS.ErrnoException;
  const why =
    code === 'ENOTDIR'
      ? 'a part of its path is a file, not a folder'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'this user may not create or use a folder there'
        : code === 'ENOENT'
          ? 'a folder cannot be created there'
          : message;
  return new StartupError(`${label} ${target} cannot be used: ${why} (${setting})`);
}
