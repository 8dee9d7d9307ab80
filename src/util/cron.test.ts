import { describe, expect, it } from 'vitest';
import { CronSchedule } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const next = (expression: string, after: string) =>
  new Date(new CronSchedule(expression).next(at(after))).toISOString();

describe('CronSchedule', () => {
  it('finds the next run of daily, stepped, ranged and weekday schedules (UTC)', () => {
    expect(next('0 3 * * *', '2026-11-27T02:59:00Z')).toBe('2026-11-27T03:00:00.000Z');
    expect(next('0 3 * * *', '2026-11-27T03:00:00Z')).toBe('2026-11-28T03:00:00.000Z');
    expect(next('*/15 * * * *', '2026-11-27T10:07:30Z')).toBe('2026-11-27T10:15:00.000Z');
    expect(next('30 9-17/4 * * *', '2026-11-27T14:00:00Z')).toBe('2026-11-27T17:30:00.000Z');
    // 2026-11-27 is a Friday: the next Sunday (0 and 7 alike) is the 29th.
    expect(next('0 0 * * 7', '2026-11-27T00:00:00Z')).toBe('2026-11-29T00:00:00.000Z');
    expect(next('0 0 * * 0', '2026-11-27T00:00:00Z')).toBe('2026-11-29T00:00:00.000Z');
    // Both day fields restricted: either matches (the 1st, or a Monday).
    expect(next('0 0 1 * 1', '2026-11-27T00:00:00Z')).toBe('2026-11-30T00:00:00.000Z');
    expect(next('0 0 1,15 * *', '2026-11-27T00:00:00Z')).toBe('2026-12-01T00:00:00.000Z');
  });

  it('refuses what it cannot read, naming the field', () => {
    expect(() => new CronSchedule('0 3 * *')).toThrow(/needs 5 fields/);
    expect(() => new CronSchedule('61 * * * *')).toThrow(/cannot read "61"/);
    expect(() => new CronSchedule('0 3 * * mon')).toThrow(/cannot read "mon"/);
    expect(() => new CronSchedule('0 0 31 2 *').next(0)).toThrow(/never matches/);
  });
});
