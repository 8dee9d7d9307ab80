import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDelay } from './units';

describe('formatBytes', () => {
  it('uses powers of 1024 with one decimal below 10', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12 MiB');
    expect(formatBytes(3.25 * 1024 ** 3)).toBe('3.3 GiB');
    expect(formatBytes(1024 ** 6)).toBe('1024 PiB');
  });

  it('shows a dash for what is not a size', () => {
    expect(formatBytes(-1)).toBe('–');
    expect(formatBytes(Number.NaN)).toBe('–');
  });
});

describe('formatDelay', () => {
  it('picks a unit people read', () => {
    expect(formatDelay(0)).toBe('0 ms');
    expect(formatDelay(850)).toBe('850 ms');
    expect(formatDelay(1200)).toBe('1.2 s');
    expect(formatDelay(9960)).toBe('10 s');
    expect(formatDelay(45_000)).toBe('45 s');
    expect(formatDelay(150_000)).toBe('2.5 min');
    expect(formatDelay(4_680_000)).toBe('1.3 h');
  });

  it('shows a dash for none', () => {
    expect(formatDelay(null)).toBe('–');
    expect(formatDelay(undefined)).toBe('–');
    expect(formatDelay(-5)).toBe('–');
  });
});

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});
