import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfBits } from './half-float.js';

describe('half-precision conversion', () => {
  it('round-trips every finite half and infinity exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (isNaN) continue;
      expect(toHalfBits(fromHalfBits(bits))).toBe(bits);
    }
  });

  it('encodes well-known values', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(2 ** -24)).toBe(0x0001);
    expect(toHalfBits(-0)).toBe(0x8000);
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    // Halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa (1).
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(toHalfBits(65520)).toBe(0x7c00);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(toHalfBits(2 ** -26)).toBe(0);
    expect(toHalfBits(2 ** -25)).toBe(0); // a tie between 0 and the smallest subnormal
    expect(toHalfBits(3 * 2 ** -25)).toBe(0x0002); // a tie between 1 and 2 subnormal steps
    expect(toHalfBits(3 * 2 ** -26)).toBe(0x0001);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });
});
