import { describe, expect, it } from 'vitest';
import { firing, resolved, startsAt, twoFiring } from './__fixtures__/notifications.js';
import { headline, markdown, plainText, rfc3339, truncateUtf8 } from './format.js';

describe('the shared formatter', () => {
  it('heads each message with its status, or TEST, and counts several alerts', () => {
    expect(headline(firing)).toBe('[FIRING] assistd latency-p99-high');
    expect(headline(resolved)).toBe('[RESOLVED] assistd latency-p99-high');
    expect(headline({ ...firing, test: true })).toBe('[TEST] assistd latency-p99-high');
    const five = {
      ...firing,
      alerts: ['a', 'b', 'c', 'd', 'e'].map((rule) => ({ ...firing.alerts[0]!, rule })),
    };
    expect(headline(five)).toBe('[FIRING] assistd 5 alerts: a, b, c, …');
  });

  it('lists every alert with severity, value against threshold and since when', () => {
    expect(plainText(twoFiring)).toBe(
      '[FIRING] assistd 2 alerts: latency-p99-high, error-rate-high\n\n' +
        '- latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z\n' +
        '- error-rate-high (critical): Error rate 12.5 % > 5 % over 5m — since 2026-11-27T01:02:03Z\n\n' +
        'https://assistd.example/console\n',
    );
    expect(plainText(resolved)).toContain(
      'P99 latency 1200 ms <= 2000 ms over 5m — resolved 2026-11-27T01:03:03Z (since 2026-11-27T01:02:03Z)',
    );
  });

  it('escapes rule text in Markdown so it cannot open tags or links', () => {
    const sneaky = {
      ...firing,
      alerts: [{ ...firing.alerts[0]!, summary: '<font color="info">[x](http://evil)</font> *b*' }],
    };
    // Look-alikes, not backslashes: WeCom's markdown shows a backslash as it is.
    expect(markdown(sneaky)).toContain('‹font color="info">［x］(http://evil)‹/font> ∗b∗');
    expect(markdown(twoFiring).endsWith('[assistd console](https://assistd.example/console)')).toBe(
      true,
    );
  });

  it('writes times as RFC 3339 the way Go does', () => {
    expect(rfc3339(startsAt)).toBe('2026-11-27T01:02:03Z');
    expect(rfc3339(startsAt + 120)).toBe('2026-11-27T01:02:03.12Z');
    expect(rfc3339(startsAt + 7)).toBe('2026-11-27T01:02:03.007Z');
  });
});

describe('truncateUtf8', () => {
  it('leaves short text alone and cuts long text on a code point boundary', () => {
    expect(truncateUtf8('短', 10)).toBe('短');
    const text = '告警🚨'.repeat(100);
    const cut = truncateUtf8(text, 50);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(50);
    expect(cut.endsWith('\n…(truncated)')).toBe(true);
    expect(text.startsWith(cut.slice(0, -'\n…(truncated)'.length))).toBe(true);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
