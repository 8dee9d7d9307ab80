import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sampleEntry } from '../../../test/support/audit.js';
import { canonicalJson } from './canonical-json.js';
import { canonicalRecord, chainHash, genesisHash, hashedForm } from './chain.js';

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
    const expected = createHash('sha256')
      .update(Buffer.concat([genesisHash, Buffer.from(canonicalJson(hashedForm(1, entry)))]))
      .digest();
    expect(chainHash(genesisHash, 1, entry)).toEqual(expected);
    expect(chainHash(genesisHash, 2, entry)).not.toEqual(expected);
  });
});
