import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chunker } from './chunker.js';

const sizes = { min: 2 * 1024, average: 8 * 1024, max: 32 * 1024 };

function chunk(data: Buffer, pieces = 7919): Buffer[] {
  const chunker = new Chunker(sizes);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieces) {
    chunks.push(...chunker.push(data.subarray(offset, offset + pieces)));
  }
  const last = chunker.end();
  if (last) chunks.push(last);
  return chunks;
}
const hashes = (chunks: Buffer[]) =>
  chunks.map((c) => createHash('sha256').update(c).digest('hex'));

describe('Chunker', () => {
  const data = randomBytes(2 * 1024 * 1024);

  it('cuts chunks within the bounds that join back to the input, however it is fed', () => {
    const chunks = chunk(data);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    for (const piece of chunks.slice(0, -1)) {
      expect(piece.length).toBeGreaterThanOrEqual(sizes.min);
      expect(piece.length).toBeLessThanOrEqual(sizes.max);
    }
    const average = data.length / chunks.length;
    expect(average).toBeGreaterThan(sizes.average * 0.6);
    expect(average).toBeLessThan(sizes.average * 1.6);
    expect(hashes(chunk(data, 1 << 20))).toEqual(hashes(chunks));
    expect(hashes(chunk(data, 1000))).toEqual(hashes(chunks));
  });

  it('keeps every chunk away from an edit in the middle', () => {
    const edited = Buffer.from(data);
    randomBytes(16 * 1024).copy(edited, 1024 * 1024);
    const before = new Set(hashes(chunk(data)));
    const changed = chunk(edited).filter(
      (piece) => !before.has(createHash('sha256').update(piece).digest('hex')),
    );
    const changedBytes = changed.reduce((sum, piece) => sum + piece.length, 0);
    // The 16 KiB edit plus the chunks it touches: a few average chunks, not the file.
    expect(changedBytes).toBeLessThan(16 * 1024 + 4 * sizes.max);
  });

  it('cuts at the maximum in data with no boundary (zeros), and ends empty input with nothing', () => {
    const zeros = chunk(Buffer.alloc(100 * 1024));
    expect(zeros.slice(0, -1).every((piece) => piece.length === sizes.max)).toBe(true);
    expect(new Chunker(sizes).end()).toBeUndefined();
  });
});
