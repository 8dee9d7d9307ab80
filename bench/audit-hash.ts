// The audit chain's hash of one record (src/security/audit/chain.ts: one-shot crypto.hash over a
// reused buffer) beside the same hash through a Hash object per record (createHash, update,
// update, digest), on the same records. Rounds interleave the two; figures are medians over
// rounds. Run: npx tsx bench/audit-hash.ts  (BENCH_ITERATIONS, BENCH_ROUNDS)
import { createHash } from 'node:crypto';
import { canonicalRecord, chainHash, genesisHash } from '../src/security/audit/chain.js';
import type { AuditEntry } from '../src/storage/types.js';
import { sampleEntry } from '../test/support/audit.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const entries: AuditEntry[] = Array.from({ length: 64 }, (_, index) => sampleEntry(index + 1));

const withHashObject = (prevHash: Buffer, seq: number, entry: AuditEntry): Buffer =>
  createHash('sha256').update(prevHash).update(canonicalRecord(seq, entry), 'utf8').digest();

/** Nanoseconds per record, chaining as the log does (each hash is the next one's prevHash). */
function time(link: typeof withHashObject): number {
  let prevHash = genesisHash;
  const start = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) {
    prevHash = link(prevHash, index + 1, entries[index % entries.length]!);
  }
  return Number(process.hrtime.bigint() - start) / iterations;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

// The two must agree before either is timed.
for (const [index, entry] of entries.entries()) {
  if (!chainHash(genesisHash, index, entry).equals(withHashObject(genesisHash, index, entry))) {
    throw new Error('the two hashes differ');
  }
}
time(chainHash);
time(withHashObject);
const oneShot: number[] = [];
const hashObject: number[] = [];
for (let round = 0; round < rounds; round++) {
  oneShot.push(time(chainHash));
  hashObject.push(time(withHashObject));
}
console.log(
  `audit chain hash, ${iterations} records × ${rounds} rounds (medians): ` +
    `crypto.hash over a reused buffer ${median(oneShot).toFixed(0)} ns, ` +
    `a Hash object per record ${median(hashObject).toFixed(0)} ns; ` +
    `ratio ${(median(oneShot) / median(hashObject)).toFixed(2)}`,
);
