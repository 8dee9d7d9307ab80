import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';

/** AES-256: 32-byte keys. */
export const keyLength = 32;
/** 96-bit IVs, the GCM size that needs no extra hashing (NIST SP 800-38D §8.2.2, random IVs). */
export const ivLength = 12;
/** Full 128-bit tags only. */
export const tagLength = 16;

const algorithm = 'aes-256-gcm';

/**
 * Encrypts `plaintext` into `out` at `offset` and writes the tag at `tagOffset`. Writing into a
 * caller-made buffer saves a concatenation on the hot path.
 */
export function sealInto(
  key: KeyObject,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Buffer,
  offset: number,
  tagOffset: number,
): void {
  const cipher = createCipheriv(algorithm, key, iv, { authTagLength: tagLength });
  cipher.setAAD(aad);
  let written = offset;
  const body = cipher.update(plaintext);
  written += body.copy(out, written);
  const rest = cipher.final();
  written += rest.copy(out, written);
  if (written !== offset + plaintext.length) throw new Error('AES-GCM wrote an unexpected length');
  cipher.getAuthTag().copy(out, tagOffset);
}

/**
 * Decrypts and authenticates; undefined when the tag does not verify, so no unauthenticated byte
 * ever leaves. `authTagLength: 16` is always passed and the tag length checked first: without it
 * Node's `setAuthTag` accepts a 4-byte tag, which an attacker can forge in about 2^32 tries.
 */
export function open(
  key: KeyObject,
  iv: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Buffer | undefined {
  if (iv.length !== ivLength || tag.length !== tagLength) return undefined;
  const decipher = createDecipheriv(algorithm, key, iv, { authTagLength: tagLength });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const body = decipher.update(ciphertext);
  try {
    const rest = decipher.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    body.fill(0);
    return undefined;
  }
}
