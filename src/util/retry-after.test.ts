import { describe, expect, it } from 'vitest';
import { maxRetryAfterSeconds, parseRetryAfter, retryAfterHeader } from './retry-after.js';

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
    expect(parseRetryAfter(['2', '9'], now)).toBe(2_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('retryAfterHeader', () => {
  it('writes whole seconds, at least 1 and at most a day, digits only', () => {
    expect(retryAfterHeader(1)).toEqual({ 'retry-after': '1' });
    expect(retryAfterHeader(1_500)).toEqual({ 'retry-after': '2' });
    expect(retryAfterHeader(0)).toEqual({ 'retry-after': '1' });
    const day = String(maxRetryAfterSeconds);
    // What a hostile endpoint's Retry-After: 100000000000000000000000 parses to.
    expect(retryAfterHeader(1e26)).toEqual({ 'retry-after': day });
    expect(retryAfterHeader(Number.POSITIVE_INFINITY)).toEqual({ 'retry-after': day });
    expect(retryAfterHeader(Number.NaN)).toEqual({ 'retry-after': day });
  });
});
