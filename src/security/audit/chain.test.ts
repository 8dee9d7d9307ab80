import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sampleEntry } from '../../../test/support/audit.js';
import type { AuditEntry } from '../../storage/types.js';
import { canonicalJson } from './canonical-json.js';
import { canonicalRecord, chainHash, genesisHash, hashedForm } from './chain.js';

/** SHA-256 over the previous hash and the generic canonical form: what `chainHash` must equal. */
function reference(prevHash: Buffer, seq: number, entry: AuditEntry): Buffer {
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson(hashedForm(seq, entry)))
    .digest();
}

describe('the audit chain', () => {
  it('writes the same canonical form as the generic canonicalizer', () => {
    const entries = [
      sampleEntry(1),
      sampleEntry(2, {
        principal: null,
        auth: null,
        decision: null,
        statement: null,
        status: null,
        latencyMs: null,
        userAgent: 'Mozilla/5.0 "quoted" \\ \u2028 é 😀',
        details: { token_id: 'abc', groups: ['admin', 'dev'], ttl_ms: 3.6e6, ok: true, x: null },
      }),
    ];
    for (const entry of entries) {
      expect(canonicalRecord(7, entry)).toBe(canonicalJson(hashedForm(7, entry)));
    }
  });

  it('hashes the previous hash and the canonical record', () => {
    const entry = sampleEntry(1);
    const expected = reference(genesisHash, 1, entry);
    expect(chainHash(genesisHash, 1, entry)).toEqual(expected);
    expect(chainHash(genesisHash, 2, entry)).not.toEqual(expected);
  });

  it('hashes records longer than its reused buffer, and shorter ones after them, exactly', () => {
    const long = sampleEntry(1, { userAgent: `${'é😀'.repeat(3000)}"\\` });
    const short = sampleEntry(2);
    const first = chainHash(genesisHash, 1, long);
    expect(first).toEqual(reference(genesisHash, 1, long));
    expect(chainHash(first, 2, short)).toEqual(reference(first, 2, short));
    expect(chainHash(genesisHash, 1, long)).toEqual(first);
  });
});
