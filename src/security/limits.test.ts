import { describe, expect, it } from 'vitest';
import { Buckets, Lockout } from './limits.js';

describe('Buckets', () => {
  it('keeps at most maxKeys keys, forgetting the least recently seen (a full bucket again)', () => {
    const now = 1_000_000;
    const buckets = new Buckets({ perMinute: 60, capacity: 1 }, () => now, 100);
    for (let key = 0; key < 150; key++) expect(buckets.take(`k${key}`)).toBe(0);
    // The 50 oldest were forgotten: they start again with a full bucket.
    expect(buckets.take('k0')).toBe(0);
    // The newest are still tracked, with their bucket empty.
    expect(buckets.take('k149')).toBe(1000);
  });
});

describe('Lockout', () => {
  it('keeps at most maxAddresses addresses', () => {
    const now = 1_000_000;
    const lockout = new Lockout(
      { maxFailures: 1, windowMs: 60_000, lockMs: 60_000 },
      () => now,
      100,
    );
    for (let address = 0; address < 150; address++) lockout.failed(`a${address}`);
    expect(lockout.lockedFor('a0')).toBe(0);
    expect(lockout.lockedFor('a149')).toBe(60_000);
  });
});
