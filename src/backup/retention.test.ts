import { describe, expect, it } from 'vitest';
import { snapshotsToKeep, snapshotsToKeepPerFolder } from './retention.js';

const day = 86_400_000;
const at = (iso: string) => Date.parse(iso);

describe('snapshotsToKeep', () => {
  it('keeps the newest of each of the last N days, weeks and months', () => {
    // Two snapshots a day for 70 days, from 2026-01-01.
    const snapshots = Array.from({ length: 140 }, (_, index) => ({
      id: `s${String(index).padStart(3, '0')}`,
      time: at('2026-01-01T00:00:00Z') + Math.floor(index / 2) * day + (index % 2) * 3_600_000,
    }));
    const kept = snapshotsToKeep(snapshots, { keepDaily: 3, keepWeekly: 2, keepMonthly: 3 });
    const times = [...kept]
      .map((id) => new Date(snapshots.find((s) => s.id === id)!.time).toISOString().slice(0, 13))
      .sort();
    expect(times).toEqual([
      '2026-01-31T01', // newest of January
      '2026-02-28T01', // newest of February
      '2026-03-08T01', // newest of week 2026-W10 (its Sunday)
      '2026-03-09T01', // days …
      '2026-03-10T01',
      '2026-03-11T01', // the newest: a day, week 2026-W11 and March
    ]);
  });

  it('keeps the newest snapshot even with a policy of zero, and nothing of an empty list', () => {
    const snapshots = [
      { id: 'a', time: 1 },
      { id: 'b', time: 2 },
    ];
    expect([
      ...snapshotsToKeep(snapshots, { keepDaily: 0, keepWeekly: 0, keepMonthly: 0 }),
    ]).toEqual(['b']);
    expect(snapshotsToKeep([], { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 }).size).toBe(0);
  });
});

describe('snapshotsToKeepPerFolder', () => {
  it('applies the policy to each folder alone, whatever host (a pod) made it', () => {
    const snapshots = [
      { id: 'a1', time: at('2026-03-01T01:00:00Z'), host: 'h', source: '/a' },
      { id: 'b1', time: at('2026-03-01T02:00:00Z'), host: 'h', source: '/b' },
      { id: 'a2', time: at('2026-03-01T03:00:00Z'), host: 'h', source: '/a' },
      { id: 'a-other-host', time: at('2026-03-01T00:00:00Z'), host: 'g', source: '/a' },
    ];
    const policy = { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 };
    // One snapshot a day per folder: a2 is /a's newest of that day, on any host.
    expect([...snapshotsToKeepPerFolder(snapshots, policy)].sort()).toEqual(['a2', 'b1']);
    expect([...snapshotsToKeep(snapshots, policy)]).toEqual(['a2']);
  });
});
