import { createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, sealInto, tagLength } from './aes-gcm.js';

describe('AES-256-GCM primitives', () => {
  const key = createSecretKey(randomBytes(32));
  const iv = randomBytes(12);
  const aad = Buffer.from('messages:msg_1');
  const plaintext = Buffer.from('the quick brown fox');
  const sealed = Buffer.alloc(plaintext.length + tagLength);
  sealInto(key, iv, aad, plaintext, sealed, 0, plaintext.length);
  const body = sealed.subarray(0, plaintext.length);
  const tag = sealed.subarray(plaintext.length);

  it('round-trips', () => {
    expect(open(key, iv, tag, aad, body)?.toString()).toBe('the quick brown fox');
  });

  it('rejects a 4-byte truncated tag that Node alone would accept', () => {
    const truncated = tag.subarray(0, 4);
    // The pitfall: without authTagLength, Node 20 verifies only the first 4 bytes and succeeds.
    const loose = createDecipheriv('aes-256-gcm', key, iv);
    loose.setAAD(aad);
    loose.setAuthTag(truncated);
    loose.update(body);
    expect(() => loose.final()).not.toThrow();

    expect(open(key, iv, truncated, aad, body)).toBeUndefined();
    // The second guard: with authTagLength 16, Node itself refuses a short tag.
    const strict = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    expect(() => strict.setAuthTag(truncated)).toThrow();
  });

  it('rejects a wrong tag, AAD, IV or key', () => {
    const badTag = Buffer.from(tag);
    badTag[15]! ^= 1;
    expect(open(key, iv, badTag, aad, body)).toBeUndefined();
    expect(open(key, iv, tag, Buffer.from('messages:msg_2'), body)).toBeUndefined();
    const badIv = Buffer.from(iv);
    badIv[0]! ^= 1;
    expect(open(key, badIv, tag, aad, body)).toBeUndefined();
    expect(open(createSecretKey(randomBytes(32)), iv, tag, aad, body)).toBeUndefined();
    expect(open(key, iv.subarray(0, 8), tag, aad, body)).toBeUndefined();
  });
});
