import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact-secrets.js';

describe('redactSecrets', () => {
  const key = 'sk-UPSTREAMKEY-topsecret-9f8e7d';

  it('hides the whole secret, its URL form, and runs of 8 of its characters', () => {
    const hide = (text: string) => redactSecrets(text, [key], '[redacted]');
    expect(hide(`key ${key} refused`)).toBe('key [redacted] refused');
    // Echoed without its prefix, or cut short: still hidden.
    expect(hide('x-api-key=UPSTREAMKEY-topsecret-9f8e7d')).toBe('x-api-key=[redacted]');
    expect(hide('starts with UPSTREAMK…')).toBe('starts with [redacted]…');
    expect(hide(`url ?k=${encodeURIComponent('a b/c+d&e=f')}`)).toBe(
      `url ?k=${encodeURIComponent('a b/c+d&e=f')}`,
    );
    expect(redactSecrets(`?k=${encodeURIComponent('a b/c+d&e=f')}`, ['a b/c+d&e=f'], '***')).toBe(
      '?k=***',
    );
    // Seven characters in a row, or a short secret, are not a leak.
    expect(hide('UPSTREA and 9f8e7d')).toBe('UPSTREA and 9f8e7d');
    expect(redactSecrets('abc abc', ['abc'], '***')).toBe('abc abc');
    expect(redactSecrets('abcd', ['abcd'], '***')).toBe('***');
  });

  it('keeps the spaces at the edges of a hidden run', () => {
    expect(
      redactSecrets('token Bearer-abcdefgh12345678.', ['Bearer Bearer-abcdefgh12345678'], '***'),
    ).toBe('token ***.');
  });
});
