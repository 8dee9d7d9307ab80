import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../test/support/encrypted-store.js';
import { openSharedState } from '../cache/shared.js';
import { configSchema } from '../config/schema.js';
import type { AuditLog } from '../security/audit/audit-log.js';
import type { AuditEntry } from '../storage/types.js';
import { openRepository } from './open-repository.js';
import { BackupRunner } from './runner.js';
import { startBackupSchedule } from './scheduler.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the backup schedule', () => {
  it('backs up and prunes at the scheduled minute, and records it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-schedule-'));
    mkdirSync(join(dataDir, 'models'));
    writeFileSync(join(dataDir, 'models', 'm.gguf'), randomBytes(300_000));
    const config = configSchema.parse({
      data_dir: dataDir,
      backup: { schedule: '0 3 * * *', keep_daily: 1 },
    });
    const recorded: AuditEntry[] = [];
    const audit = { record: (entry: AuditEntry) => recorded.push(entry) } as unknown as AuditLog;
    const logger = pino({ level: 'silent' });
    const shared = await openSharedState({
      config,
      logger,
      cipher: { encrypts: false, encrypt: (t) => t, decrypt: (t) => t, isEncrypted: () => false },
    });

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(new Date('2026-11-27T02:59:30Z'));
    const runner = new BackupRunner({ config, logger, shared, audit });
    const stop = startBackupSchedule({ config, logger, runner })!;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(recorded).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(11_000);
    vi.useRealTimers();
    for (let waited = 0; recorded.length === 0 && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(recorded[0]).toMatchObject({ action: 'create:backup', error: null, source: 'server' });
    await stop();
    expect(runner.state()).toMatchObject({
      running: null,
      last: { trigger: 'schedule', files: 1, error: null },
    });
    await runner.close();

    const opened = await openRepository(config, silentLogger);
    const snapshots = await opened.repository.snapshots();
    await opened.close();
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.files.map((file) => file.path)).toEqual(['m.gguf']);
  }, 30_000);
});
