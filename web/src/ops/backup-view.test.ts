import { describe, expect, it } from 'vitest';
import type { BackupRun, BackupStatus } from '../api/backups';
import {
  idlePollMs,
  newestFirst,
  pendingSeen,
  pollInterval,
  retentionText,
  runningPollMs,
  scheduleText,
  startSeen,
} from './backup-view';

function run(startedAt: string): BackupRun {
  return {
    started_at: startedAt,
    finished_at: startedAt,
    trigger: 'admin',
    snapshot: 's1',
    files: 3,
    added_bytes: 100,
    pruned: 0,
    skipped: [],
    skipped_count: 0,
    error: null,
  };
}

function status(overrides: Partial<BackupStatus> = {}): BackupStatus {
  return {
    object: 'list',
    target: '/data/objects',
    schedule: null,
    retention: { keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
    running: null,
    last_run: null,
    data: [],
    has_more: false,
    log_shipping: { enabled: false, shipped_segments: 0, last_lag_ms: null, failures: 0 },
    ...overrides,
  };
}

describe('backup texts', () => {
  it('words retention and schedule', () => {
    expect(retentionText({ keep_daily: 7, keep_weekly: 4, keep_monthly: 12 })).toBe(
      'keeps 7 daily, 4 weekly, 12 monthly',
    );
    expect(retentionText({ keep_daily: 0, keep_weekly: 2, keep_monthly: 0 })).toBe(
      'keeps 2 weekly',
    );
    expect(retentionText({ keep_daily: 0, keep_weekly: 0, keep_monthly: 0 })).toBe(
      'keeps every snapshot',
    );
    expect(scheduleText('0 3 * * *')).toBe('0 3 * * * (UTC)');
    expect(scheduleText(null)).toBe('none: only on demand');
  });

  it('lists snapshots newest first, unreadable times last', () => {
    const snapshots = [
      { id: 'old', created_at: '2025-03-01T00:00:00Z', files: 1, bytes: 1 },
      { id: 'bad', created_at: 'yesterday', files: 1, bytes: 1 },
      { id: 'new', created_at: '2025-03-02T00:00:00Z', files: 1, bytes: 1 },
    ];
    expect(newestFirst(snapshots).map((snapshot) => snapshot.id)).toEqual(['new', 'old', 'bad']);
  });
});

describe('a backup started here', () => {
  const startedAt = '2025-03-02T10:00:00.000Z';

  it('is seen once running or finished as the last run', () => {
    expect(startSeen(status(), startedAt)).toBe(false);
    expect(startSeen(status({ last_run: run('2025-03-01T10:00:00.000Z') }), startedAt)).toBe(false);
    expect(
      startSeen(status({ running: { started_at: startedAt, trigger: 'admin' } }), startedAt),
    ).toBe(true);
    expect(startSeen(status({ last_run: run(startedAt) }), startedAt)).toBe(true);
  });

  it('counts only answers newer than the one shown when it was asked for', () => {
    const before = status();
    expect(pendingSeen({ startedAt: undefined, before }, before)).toBe(false);
    expect(pendingSeen({ startedAt: undefined, before }, undefined)).toBe(false);
    expect(pendingSeen({ startedAt: undefined, before }, status())).toBe(true);
    expect(pendingSeen({ startedAt, before }, status())).toBe(false);
    expect(pendingSeen({ startedAt, before }, status({ last_run: run(startedAt) }))).toBe(true);
  });

  it('polls quickly while pending or running, slowly otherwise', () => {
    expect(pollInterval(undefined, false)).toBe(idlePollMs);
    expect(pollInterval(status(), true)).toBe(runningPollMs);
    expect(
      pollInterval(status({ running: { started_at: startedAt, trigger: 'schedule' } }), false),
    ).toBe(runningPollMs);
    expect(pollInterval(status({ last_run: run(startedAt) }), false)).toBe(idlePollMs);
    expect(runningPollMs).toBeLessThanOrEqual(5000);
  });
});
