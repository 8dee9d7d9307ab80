import { hostname } from 'node:os';
import type { ObjectStore } from './object-store/types.js';

/** A lock another process holds on the repository. */
export class RepositoryLockedError extends Error {
  override readonly name = 'RepositoryLockedError';
}

export type LockKind = 'backup' | 'prune';

/** What a lock object holds. `time` is its holder's last heartbeat. */
interface LockRecord {
  kind: string;
  time: number;
  host: string;
  /** Absent in locks written before heartbeats and process ids were recorded. */
  started?: number;
  pid?: number;
}

/** A running holder rewrites its lock this often... */
const lockHeartbeatMs = 60_000;
/** ...so a lock this long without one is from a process that died (or lost the store). */
export const staleLockMs = 15 * 60_000;

export interface LockOptions {
  now?: () => number;
  heartbeatMs?: number;
  /** This machine's name, as locks record it (tests). */
  host?: string;
}

/**
 * Runs `work` holding a lock of `kind` in `objects` (`locks/<kind>-<stamp>`): a prune waits for
 * no backup and a backup for no prune, so a prune never deletes the chunks of a snapshot not yet
 * written. Refuses (RepositoryLockedError) while a live lock of the other kind, or another prune,
 * exists. A lock is live while its holder rewrites it (every minute); one that has not been
 * rewritten for 15 minutes, or that this host's process wrote and that process is gone (a
 * `kill -9`), no longer blocks and is removed. Object stores have no compare-and-swap here, so two processes
 * starting within the same moment could both pass: schedule backups and prunes apart.
 */
export async function withRepositoryLock<T>(
  objects: ObjectStore,
  kind: LockKind,
  key: string,
  work: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const now = options.now ?? Date.now;
  const host = options.host ?? hostname();
  for await (const info of objects.list('locks/')) {
    const bytes = await objects.get(info.key);
    if (!bytes) continue;
    const lock = parseLock(bytes);
    if (!lock) {
      throw new RepositoryLockedError(
        `the backup repository holds a lock that cannot be read (${info.key}); ` +
          'remove it if no backup or prune is running',
      );
    }
    if (!isLive(lock, now(), host)) {
      await objects.delete(info.key); // its holder is gone: tidy up
      continue;
    }
    if (lock.kind === 'prune' || kind === 'prune') {
      const since = new Date(lock.started ?? lock.time).toISOString();
      const holder = lock.pid === undefined ? lock.host : `${lock.host} (process ${lock.pid})`;
      throw new RepositoryLockedError(
        `the backup repository is locked by a ${lock.kind} on ${holder} since ${since} ` +
          `(${info.key}); a lock its holder stops renewing clears after ${staleLockMs / 60_000} minutes`,
      );
    }
  }
  const started = now();
  const write = () =>
    objects.put(
      key,
      Buffer.from(JSON.stringify({ kind, time: now(), started, host, pid: process.pid })),
    );
  await write();
  // One heartbeat at a time, and none left running when the lock is removed.
  let beating: Promise<void> = Promise.resolve();
  const heartbeat = setInterval(() => {
    beating = beating.then(write).catch(() => undefined);
  }, options.heartbeatMs ?? lockHeartbeatMs);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await beating;
    await objects.delete(key);
  }
}

function parseLock(bytes: Uint8Array): LockRecord | undefined {
  try {
    const lock = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<LockRecord> | null;
    if (typeof lock?.kind !== 'string' || typeof lock.time !== 'number') return undefined;
    return { host: 'an unknown host', ...lock } as LockRecord;
  } catch {
    return undefined;
  }
}

function isLive(lock: LockRecord, now: number, host: string): boolean {
  if (now - lock.time > staleLockMs) return false;
  return lock.host !== host || lock.pid === undefined || processExists(lock.pid);
}

/** Whether a process of this id runs on this machine (EPERM: it does, as another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
