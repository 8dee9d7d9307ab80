import { describe, expect, it } from 'vitest';
import { compileWildcard, matchWildcard, type MatchMeter } from './wildcard.js';

const cases: ReadonlyArray<readonly [pattern: string, text: string, expected: boolean]> = [
  ['', '', true],
  ['', 'a', false],
  ['*', '', true],
  ['*', '/v1/conversations/abc', true],
  ['**', 'anything', true],
  ['/v1/chat', '/v1/chat', true],
  ['/v1/chat', '/v1/chat/completions', false],
  ['/v1/chat', '/V1/chat', false],
  ['/v1/*', '/v1/chat', true],
  ['/v1/*', '/v1/', true],
  ['/v1/*', '/v1', false],
  // `*` crosses `/`, as in IAM (casbin's globMatch does not).
  ['/v1/*', '/v1/conversations/abc/messages', true],
  ['/v1/*/abc', '/v1/conversations/x/abc', true],
  ['*/abc', '/v1/abc', true],
  ['*@example.com', 'dev@example.com', true],
  ['*@example.com', 'dev@example.com.evil', false],
  ['get:*', 'get:conversation', true],
  ['get:*', 'list:conversation', false],
  ['*:chat', 'create:chat', true],
  ['a*b*c', 'abc', true],
  ['a*b*c', 'aXbYc', true],
  ['a*b*c', 'aXbY', false],
  ['a*b*c', 'acb', false],
  ['*a*', 'bab', true],
  ['*aab', 'aaab', true],
  ['?', 'a', true],
  ['?', '', false],
  ['?', 'ab', false],
  ['/v1/?', '/v1/a', true],
  ['/v1/?', '/v1//', true],
  ['/v1/??', '/v1/a', false],
  ['?*', '', false],
  ['*?', 'x', true],
  // `?` is one code point: a surrogate pair (an emoji) is one character.
  ['/v1/?', '/v1/😀', true],
  ['/v1/??', '/v1/😀', false],
  ['*??', '😀', false],
  ['*?', 'a😀', true],
  ['?😀?', 'x😀y', true],
  ['*😀', 'ab😀', true],
  ['a?c', 'abc', true],
  ['a?c', 'ac', false],
];

describe('matchWildcard', () => {
  it.each(cases)('%j against %j → %s', (pattern, text, expected) => {
    expect(matchWildcard(pattern, text)).toBe(expected);
  });

  it.each(cases)('compileWildcard(%j) agrees on %j', (pattern, text, expected) => {
    expect(compileWildcard(pattern)(text)).toBe(expected);
  });

  it('matches a 200-character path against a many-star pattern in bounded steps', () => {
    // The pattern that makes a regex backtrack exponentially: stars separated by one literal,
    // against a text that almost matches and then fails at the very end.
    const text = `/${'a'.repeat(198)}b`;
    const pattern = `/${'*a'.repeat(20)}*c`;
    const meter: MatchMeter = { steps: 0 };
    expect(matchWildcard(pattern, text, meter)).toBe(false);
    // The two-pointer bound: at most about |pattern| × |text| steps, never exponential.
    expect(meter.steps).toBeLessThanOrEqual(pattern.length * text.length);
    expect(meter.steps).toBeLessThan(50_000);
  });

  it('bounds the two-pointer worst case (a long literal after a star) by |pattern| × |text|', () => {
    // Each retry of the star re-reads up to the whole literal: quadratic, yet only ~10^4 steps.
    const text = 'a'.repeat(200);
    const pattern = `*${'a'.repeat(50)}b`;
    const meter: MatchMeter = { steps: 0 };
    expect(matchWildcard(pattern, text, meter)).toBe(false);
    expect(meter.steps).toBeGreaterThan(text.length);
    expect(meter.steps).toBeLessThanOrEqual(pattern.length * text.length);
  });

  it('stays within |pattern| × |text| steps on many random pathological inputs', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = (alphabet: string, length: number) =>
      Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let round = 0; round < 300; round++) {
      const pattern = pick('a*?b', 1 + Math.floor(random() * 40));
      const text = pick('ab/', Math.floor(random() * 200));
      const meter: MatchMeter = { steps: 0 };
      matchWildcard(pattern, text, meter);
      expect(meter.steps).toBeLessThanOrEqual((pattern.length + 1) * (text.length + 1));
    }
  });

  it('takes linear steps for a single trailing star', () => {
    const meter: MatchMeter = { steps: 0 };
    const text = `/v1/conversations/${'x'.repeat(180)}`;
    expect(matchWildcard('/v1/conversations/*', text, meter)).toBe(true);
    expect(meter.steps).toBeLessThanOrEqual(text.length + 2);
  });
});
