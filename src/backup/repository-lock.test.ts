import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore } from './object-store/local.js';
import { RepositoryLockedError, staleLockMs, withRepositoryLock } from './repository-lock.js';

const store = () => new LocalObjectStore(mkdtempSync(join(tmpdir(), 'assistd-locks-')));

async function putLock(objects: LocalObjectStore, key: string, lock: object): Promise<void> {
  await objects.put(key, Buffer.from(JSON.stringify(lock)));
}

async function lockKeys(objects: LocalObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of objects.list('locks/')) keys.push(info.key);
  return keys.sort();
}

/** The id of a process that has exited (a kill -9'd backup's, in effect). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
    encoding: 'utf8',
  });
  return Number(child.stdout.trim());
}

const backup = (objects: LocalObjectStore, key = 'locks/backup-1') =>
  withRepositoryLock(objects, 'backup', key, () => Promise.resolve('ran'));

describe('repository locks', () => {
  it('are not held back by the lock of a process of this host that is gone, which is removed', async () => {
    const objects = store();
    const lock = { kind: 'prune', time: Date.now(), host: hostname() };
    await putLock(objects, 'locks/prune-dead', { ...lock, pid: deadPid() });
    expect(await backup(objects)).toBe('ran');
    expect(await lockKeys(objects)).toEqual([]);

    // The same lock of a process that runs (this one) holds the backup back.
    await putLock(objects, 'locks/prune-alive', { ...lock, pid: process.pid });
    await expect(backup(objects)).rejects.toThrow(
      new RegExp(`locked by a prune on ${hostname()} \\(process ${process.pid}\\) since`),
    );
    expect(await lockKeys(objects)).toEqual(['locks/prune-alive']);
  });

  it('hold others back while renewed, and not once their holder stopped renewing them', async () => {
    const objects = store();
    const time = Date.now();
    // Another host: its process cannot be looked at, only its heartbeat.
    await putLock(objects, 'locks/prune-other', { kind: 'prune', time, host: 'other', pid: 1 });
    await expect(backup(objects)).rejects.toBeInstanceOf(RepositoryLockedError);
    const later = { now: () => time + staleLockMs + 1 };
    expect(await withRepositoryLock(objects, 'backup', 'locks/b', async () => 'ran', later)).toBe(
      'ran',
    );
    expect(await lockKeys(objects)).toEqual([]);
  });

  it('are renewed while the work runs and removed when it ends', async () => {
    const objects = store();
    const seen: number[] = [];
    await withRepositoryLock(
      objects,
      'prune',
      'locks/prune-1',
      async () => {
        for (let round = 0; round < 4; round++) {
          const bytes = await objects.get('locks/prune-1');
          seen.push((JSON.parse(Buffer.from(bytes!).toString()) as { time: number }).time);
          await sleep(60);
        }
      },
      { heartbeatMs: 25 },
    );
    expect(new Set(seen).size).toBeGreaterThan(1);
    expect(await lockKeys(objects)).toEqual([]);
  });

  it('refuse to pass a lock that cannot be read, and name it', async () => {
    const objects = store();
    await objects.put('locks/prune-x', Buffer.from('{not json'));
    await expect(backup(objects)).rejects.toThrow(/lock that cannot be read \(locks\/prune-x\)/);
    expect(await lockKeys(objects)).toEqual(['locks/prune-x']);
  });

  it('let backups run side by side', async () => {
    const objects = store();
    const results = await Promise.all([
      withRepositoryLock(objects, 'backup', 'locks/backup-a', async () => {
        await sleep(50);
        return 'a';
      }),
      (async () => {
        await sleep(10);
        return backup(objects, 'locks/backup-b');
      })(),
    ]);
    expect(results).toEqual(['a', 'ran']);
  });
});
