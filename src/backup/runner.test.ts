import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import type { AuditEntry } from '../storage/types.js';
import { backupFolder } from './models.js';
import { openRepository, type OpenedRepository } from './open-repository.js';
import {
  anotherReplicaRunning,
  BackupRunner,
  type BackupOutcome,
  type BackupRunnerOptions,
} from './runner.js';

const logger = pino({ level: 'silent' });
const temp = (label: string) => mkdtempSync(join(tmpdir(), `assistd-${label}-`));

/** A promise with its resolve and reject, for backups that finish when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** A runner over a fresh data dir; `recorded` holds its audit entries. */
function runnerWith(options: Partial<BackupRunnerOptions> = {}) {
  const config = configSchema.parse({ data_dir: temp('runner') });
  const recorded: AuditEntry[] = [];
  let now = Date.parse('2026-11-27T03:00:00Z');
  const runner = new BackupRunner({
    config,
    logger,
    shared: { exclusive: (_name, _ttl, work) => work() },
    audit: { record: (entry: AuditEntry) => void recorded.push(entry) },
    clock: () => (now += 1000),
    ...options,
  });
  return { runner, recorded, config };
}

const outcome: BackupOutcome = {
  snapshot: '20261127T030000Z-1a2b3c4d',
  files: 2,
  addedBytes: 9,
  pruned: 1,
  skipped: ['cache-link'],
};

describe('BackupRunner', () => {
  it('runs one backup at a time and keeps the last one', async () => {
    const gate = deferred<BackupOutcome>();
    const { runner, recorded } = runnerWith({ backup: () => gate.promise });
    expect(runner.state()).toEqual({ running: null, last: null });

    const first = runner.start('admin');
    expect(first).toEqual({ started: true, startedAt: Date.parse('2026-11-27T03:00:01Z') });
    expect(runner.start('schedule')).toEqual({ started: false, reason: 'running' });
    expect(runner.state()).toEqual({
      running: { startedAt: Date.parse('2026-11-27T03:00:01Z'), trigger: 'admin' },
      last: null,
    });

    gate.resolve(outcome);
    await runner.idle();
    expect(runner.state()).toEqual({
      running: null,
      last: {
        startedAt: Date.parse('2026-11-27T03:00:01Z'),
        finishedAt: Date.parse('2026-11-27T03:00:02Z'),
        trigger: 'admin',
        snapshot: outcome.snapshot,
        files: 2,
        addedBytes: 9,
        pruned: 1,
        skipped: ['cache-link'],
        error: null,
      },
    });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      action: 'create:backup',
      resource: '/admin/backups',
      source: 'server',
      error: null,
      details: { operation: 'requested', snapshot: outcome.snapshot, pruned_snapshots: 1 },
    });
    // Free again.
    expect(runner.start('schedule').started).toBe(true);
    await runner.close();
  });

  it('records a failure without throwing, naming causes an operator can fix', async () => {
    let opened = 0;
    const { runner, recorded, config } = runnerWith({
      openRepository: () => {
        opened += 1;
        return Promise.reject(new Error('not expected: the folder is checked first'));
      },
    });
    // The default backup: the data dir has no models folder.
    expect(runner.start('schedule').started).toBe(true);
    await runner.idle();
    // Found before the repository was opened (an open stores a data key in the object store).
    expect(opened).toBe(0);
    expect(runner.state().last).toMatchObject({
      trigger: 'schedule',
      snapshot: null,
      files: 0,
      error: `the model folder ${join(config.data_dir, 'models')} does not exist or is not a folder (backup.models_folder)`,
    });
    expect(recorded[0]).toMatchObject({
      error: 'backup_failed',
      details: { operation: 'scheduled', snapshot: null },
    });

    const other = runnerWith({
      backup: () => Promise.reject(new Error('socket hang up at 10.0.0.7')),
    });
    other.runner.start('admin');
    await other.runner.idle();
    expect(other.runner.state().last?.error).toBe(
      'the backup failed; the server log has the reason',
    );
  });

  it('says so when another replica holds the lock, and records nothing', async () => {
    let ran = false;
    const { runner, recorded } = runnerWith({
      shared: { exclusive: () => Promise.resolve(undefined) },
      backup: () => {
        ran = true;
        return Promise.resolve(outcome);
      },
    });
    runner.start('admin');
    await runner.idle();
    expect(ran).toBe(false);
    expect(runner.state().last).toMatchObject({
      trigger: 'admin',
      snapshot: null,
      error: anotherReplicaRunning,
    });
    expect(recorded).toHaveLength(0);
  });

  it('close waits for the running backup', async () => {
    const gate = deferred<BackupOutcome>();
    const { runner } = runnerWith({ backup: () => gate.promise });
    runner.start('admin');
    let closed = false;
    const closing = runner.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    gate.resolve(outcome);
    await closing;
    expect(runner.state().last?.snapshot).toBe(outcome.snapshot);
  });
});

describe('BackupRunner.snapshots', () => {
  it('lists the newest snapshots first, at most the limit, opening the repository once', async () => {
    const config = configSchema.parse({ data_dir: temp('runner-list') });
    const folder = temp('runner-models');
    mkdirSync(join(folder, 'sub'));
    writeFileSync(join(folder, 'a.bin'), 'a');
    writeFileSync(join(folder, 'sub', 'b.bin'), 'bb');
    let opens = 0;
    const open = () => {
      opens += 1;
      return openRepository(config, logger);
    };
    const { runner } = runnerWith({ config, openRepository: open });
    expect(await runner.snapshots(2)).toEqual({ snapshots: [], more: false, unreadable: [] });

    const writer = await openRepository(config, logger);
    const base = Date.parse('2026-11-27T03:00:00Z');
    const made: string[] = [];
    for (const minutes of [0, 2, 1]) {
      const result = await backupFolder(writer.repository, folder, {
        now: base + minutes * 60_000,
      });
      made.push(result.snapshot.id);
    }
    await writer.close();

    const listed = await runner.snapshots(2);
    expect(listed.more).toBe(true);
    expect(listed.snapshots.map((snapshot) => snapshot.id)).toEqual([made[1], made[2]]);
    expect(listed.snapshots[0]?.files.map((file) => file.size)).toEqual([1, 2]);
    expect((await runner.snapshots(100)).snapshots).toHaveLength(3);
    expect(opens).toBe(1);
    await runner.close();
  });

  it('tries to open the repository again after an open failed', async () => {
    const config = configSchema.parse({ data_dir: temp('runner-retry') });
    let fail = true;
    const open = (): Promise<OpenedRepository> =>
      fail ? Promise.reject(new Error('connect ECONNREFUSED')) : openRepository(config, logger);
    const { runner } = runnerWith({ config, openRepository: open });
    await expect(runner.snapshots(10)).rejects.toThrow('ECONNREFUSED');
    fail = false;
    expect(await runner.snapshots(10)).toEqual({ snapshots: [], more: false, unreadable: [] });
    await runner.close();
  });
});
