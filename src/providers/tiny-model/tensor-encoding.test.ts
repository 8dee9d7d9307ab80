import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfBits } from './half-float.js';
import { seededRandom } from './seeded-random.js';
import { decodeTensor, encodedByteLength, encodeTensor } from './tensor-encoding.js';

function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
}

describe('tensor encoding', () => {
  it('stores F32 values unchanged', () => {
    const values = randomValues(100, 1);
    const bytes = encodeTensor(values, 'F32');
    expect(bytes.length).toBe(encodedByteLength('F32', 100));
    expect(decodeTensor(bytes, 'F32', 100)).toEqual(values);
  });

  it('stores F16 within half a unit in the last place', () => {
    const values = randomValues(4096, 2, 10);
    const decoded = decodeTensor(encodeTensor(values, 'F16'), 'F16', values.length);
    for (const [index, value] of values.entries()) {
      expect(Math.abs((decoded[index] ?? 0) - value)).toBeLessThanOrEqual(
        Math.abs(value) * 2 ** -11,
      );
    }
  });

  it('lays Q8_0 out as block_q8_0 { f16 d; int8 qs[32] } with d = max|x| / 127', () => {
    const values = Float32Array.from({ length: 32 }, (_, index) => (index - 16) / 4);
    const bytes = encodeTensor(values, 'Q8_0');
    expect(bytes.length).toBe(34);
    const scale = 4 / 127;
    expect(bytes.readUInt16LE(0)).toBe(toHalfBits(scale));
    expect(bytes.readInt8(2)).toBe(-127); // −4 is the largest magnitude
    expect(bytes.readInt8(2 + 16)).toBe(0);
    expect(bytes.readInt8(2 + 31)).toBe(Math.round(3.75 / scale));
  });

  it('keeps each Q8_0 weight within about half a step of its block scale', () => {
    const values = randomValues(32 * 512, 3, 0.05);
    const decoded = decodeTensor(encodeTensor(values, 'Q8_0'), 'Q8_0', values.length);
    let worst = 0;
    for (let block = 0; block < 512; block++) {
      const slice = values.subarray(block * 32, block * 32 + 32);
      const step = Math.max(...Array.from(slice, Math.abs)) / 127;
      for (let index = 0; index < 32; index++) {
        const error = Math.abs((decoded[block * 32 + index] ?? 0) - (slice[index] ?? 0));
        // Rounding gives at most step / 2; storing the scale as f16 adds up to 127 × step × 2^-11.
        expect(error).toBeLessThanOrEqual(step * (0.5 + 127 * 2 ** -11) + 1e-9);
        worst = Math.max(worst, error / step);
      }
    }
    expect(worst).toBeGreaterThan(0.4);
  });

  it('stores an all-zero Q8_0 block and a one-hot block exactly', () => {
    const values = new Float32Array(64);
    values[40] = 0.75;
    const decoded = decodeTensor(encodeTensor(values, 'Q8_0'), 'Q8_0', 64);
    expect(Array.from(decoded.subarray(0, 32))).toEqual(new Array(32).fill(0));
    expect(decoded[40]).toBeCloseTo(fromHalfBits(toHalfBits(0.75 / 127)) * 127, 6);
    expect(Math.abs((decoded[40] ?? 0) - 0.75)).toBeLessThan(0.75 * 2 ** -10);
  });

  it('refuses Q8_0 data that is not whole blocks', () => {
    expect(() => encodeTensor(new Float32Array(48), 'Q8_0')).toThrow(/multiple of 32/);
  });
});
