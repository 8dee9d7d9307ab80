import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError, type CanonicalValue } from './canonical-json.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts members by UTF-16 code units (the RFC 8785 §3.2.3 example)', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(value)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes numbers as ECMAScript does (RFC 8785 appendix B samples)', () => {
    const samples: Array<[number, string]> = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [333333333.3333333, '333333333.3333333'],
      [9007199254740992, '9007199254740992'],
      [5e-324, '5e-324'],
      [-1.7976931348623157e308, '-1.7976931348623157e+308'],
      [0.000001, '0.000001'],
      [123.456, '123.456'],
    ];
    for (const [number, text] of samples) expect(canonicalJson(number)).toBe(text);
  });

  it('matches the RFC 8785 §3.2.2 example and nests without whitespace', () => {
    const value: CanonicalValue = {
      numbers: [333333333.3333333, 1e30, 4.5, 0.002, 1e-27],
      string: '\u20ac$\u000f\nA\'B"\\\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(value)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('refuses values without a canonical form instead of dropping them', () => {
    for (const bad of [Number.NaN, Infinity, undefined, 10n, () => 1, new Date(0), '\ud800']) {
      expect(() => canonicalJson({ bad } as unknown as CanonicalValue)).toThrow(CanonicalJsonError);
    }
  });
});
