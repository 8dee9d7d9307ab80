import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

export interface WatchFilesOptions {
  logger: Logger;
  /** What the files are, for log lines: `the policy file`, `TLS files`. */
  what: string;
  /** Quiet time after the last event before `onChange`, in milliseconds (default 250). */
  debounceMs?: number | undefined;
  onChange: () => void;
}

/**
 * Calls `onChange` (debounced) when any of `paths` changes. The files are watched through their
 * directories, not themselves: editors that save by writing a new file and renaming it over the
 * old one, and Kubernetes ConfigMap / Secret updates (a `..data` symlink swap), replace the inode
 * a file watch would be following. A directory that cannot be watched is logged; SIGHUP still
 * reloads. Returns the function that stops watching.
 */
export function watchFiles(paths: readonly string[], options: WatchFilesOptions): () => void {
  const { logger, what } = options;
  const names = new Set([...paths.map((path) => basename(path)), '..data']);
  const watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;
  const schedule = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      if (!closed) options.onChange();
    }, options.debounceMs ?? 250);
    debounce.unref();
  };
  for (const directory of new Set(paths.map((path) => dirname(path)))) {
    try {
      const watcher = watch(directory, { persistent: false }, (_event, changed) => {
        if (changed === null || names.has(changed)) schedule();
      });
      watcher.on('error', (error) => {
        logger.warn({ directory, err: error }, `watching ${what} failed; reload with SIGHUP`);
      });
      watchers.push(watcher);
    } catch (error) {
      logger.warn({ directory, err: error }, `cannot watch ${what}; reload with SIGHUP`);
    }
  }
  return () => {
    closed = true;
    clearTimeout(debounce);
    for (const watcher of watchers.splice(0)) watcher.close();
  };
}
