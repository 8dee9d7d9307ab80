import { createHash } from 'node:crypto';

/** Chunk sizes: content-defined between these bounds, about `average` on random data. */
export interface ChunkSizes {
  min: number;
  average: number;
  max: number;
}

export const defaultChunkSizes: ChunkSizes = {
  min: 256 * 1024,
  average: 1024 * 1024,
  max: 4 * 1024 * 1024,
};

/** The gear table: 256 fixed pseudo-random 32-bit values (SHA-256 in counter mode). */
const gear = (() => {
  const table = new Uint32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHash('sha256').update(`assistd-cdc-gear-v1:${block}`).digest();
    for (let index = 0; index < 8; index++)
      table[block * 8 + index] = digest.readUInt32BE(index * 4);
  }
  return table;
})();

/**
 * Content-defined chunking with a gear rolling hash (as in FastCDC): a boundary falls where the
 * hash of the last 32 bytes or so has its top bits zero, so an edit in the middle of a file moves
 * only the boundaries near it and every other chunk keeps its bytes and its hash. Feed the file
 * in any pieces; `push` returns the chunks completed so far and `end` the last one.
 */
export class Chunker {
  private readonly mask: number;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private hash = 0;

  constructor(private readonly sizes: ChunkSizes = defaultChunkSizes) {
    if (!(sizes.min > 0 && sizes.min <= sizes.average && sizes.average <= sizes.max)) {
      throw new Error('chunk sizes must satisfy 0 < min <= average <= max');
    }
    const bits = Math.round(Math.log2(sizes.average - sizes.min));
    // The top `bits` bits of the 32-bit hash: a boundary about every 2^bits bytes past `min`.
    this.mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  }

  push(data: Buffer): Buffer[] {
    const chunks: Buffer[] = [];
    let start = 0;
    const { min, max } = this.sizes;
    for (let index = 0; index < data.length; index++) {
      const length = this.pendingLength + (index - start) + 1;
      if (length < min) {
        // Skip hashing below the minimum: the hash restarts cleanly at the boundary check.
        continue;
      }
      this.hash = ((this.hash << 1) + gear[data[index]!]!) >>> 0;
      if ((this.hash & this.mask) === 0 || length >= max) {
        chunks.push(this.take(data.subarray(start, index + 1)));
        start = index + 1;
      }
    }
    if (start < data.length) {
      const rest = data.subarray(start);
      this.pending.push(rest);
      this.pendingLength += rest.length;
    }
    return chunks;
  }

  /** The last chunk (undefined when nothing is left). */
  end(): Buffer | undefined {
    if (this.pendingLength === 0) return undefined;
    return this.take(Buffer.alloc(0));
  }

  private take(tail: Buffer): Buffer {
    const chunk =
      this.pending.length === 0 ? Buffer.from(tail) : Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingLength = 0;
    this.hash = 0;
    return chunk;
  }
}
