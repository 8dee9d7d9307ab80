import { randomFillSync } from 'node:crypto';

/** Makes ids like `conv_019ac…`; injected so tests can make them predictable. */
export type IdGenerator = (prefix: string) => string;

const poolSize = 4096;
const randomPool = Buffer.alloc(poolSize);
let poolOffset = poolSize;

/** 10 random bytes from a pool refilled 4 KiB at a time (one OpenSSL call per ~400 ids). */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > poolSize) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  const hex = randomPool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/**
 * Time-ordered ids, like UUIDv7: 48 bits of milliseconds then 80 random bits, in 32 hex
 * characters. Ids made later sort later, so new rows land at the right edge of the store's
 * B-trees instead of dirtying a random page per index on every insert.
 */
export const randomId: IdGenerator = (prefix) =>
  `${prefix}_${Date.now().toString(16).padStart(12, '0')}${randomHex(10)}`;

/** The clock, injected for the same reason. Milliseconds since the epoch. */
export type Clock = () => number;
