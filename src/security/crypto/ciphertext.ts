import { ivLength, tagLength } from './aes-gcm.js';
import { DecryptionError } from './errors.js';

/**
 * The ciphertext format, version 1 (all offsets in bytes):
 *
 * ```
 * 0   2   magic 0xAE 0x5D
 * 2   1   format 0x01: AES-256-GCM, 96-bit random IV, 128-bit tag, 8-byte data key id
 * 3   8   data key id (the `WrappedDataKey.id`, as raw bytes)
 * 11  12  IV
 * 23  16  tag
 * 39  n   ciphertext (as long as the plaintext)
 * ```
 *
 * The additional authenticated data is bytes 0–10 (magic, format, data key id) followed by the
 * caller's context string in UTF-8 (for example `messages:<row id>`). The header comes first and
 * has a fixed length, so the concatenation is unambiguous.
 *
 * The first byte, 0xAE, is a UTF-8 continuation byte, which no valid UTF-8 string starts with: a
 * legacy plaintext value (text stored before encryption) can never be taken for ciphertext.
 */
export const magic0 = 0xae;
export const magic1 = 0x5d;
export const formatV1 = 0x01;
/** Data key ids are 8 random bytes, 16 hex characters in the store. */
export const dataKeyIdLength = 8;

const formatOffset = 2;
export const dataKeyIdOffset = 3;
/** Bytes 0 up to here are authenticated as part of the AAD. */
export const headerLength = dataKeyIdOffset + dataKeyIdLength;
export const ivOffset = headerLength;
export const tagOffset = ivOffset + ivLength;
export const bodyOffset = tagOffset + tagLength;
/** Bytes added to every plaintext: 39. */
export const overhead = bodyOffset;

/**
 * The text form for TEXT columns: this prefix, then the binary form in unpadded base64url. The
 * base64url of the magic and format byte is `rl0B`, so every text ciphertext starts `aenc:rl0B`.
 */
export const textPrefix = 'aenc:';

/** True when `value` is binary ciphertext (magic and minimum length), of any format version. */
export function isCiphertext(value: Uint8Array): boolean {
  return value.length >= overhead && value[0] === magic0 && value[1] === magic1;
}

/**
 * True when `value` is the text form of a ciphertext: the prefix, canonical base64url, and binary
 * ciphertext inside. A legacy plaintext matches only if it *is* such a string, character for
 * character (someone stored an encrypted value as a message before encryption existed).
 */
export function isCiphertextText(value: string): boolean {
  return decodeText(value) !== undefined;
}

/** The text form of a binary ciphertext. */
export function ciphertextToText(blob: Uint8Array): string {
  return (
    textPrefix + Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64url')
  );
}

/** The binary form of a text ciphertext; throws `DecryptionError('not-ciphertext')` otherwise. */
export function ciphertextFromText(value: string): Buffer {
  const blob = decodeText(value);
  if (blob === undefined) {
    throw new DecryptionError(
      'not-ciphertext',
      `the value is not assistd text ciphertext (it must start with "${textPrefix}")`,
    );
  }
  return blob;
}

function decodeText(value: string): Buffer | undefined {
  if (!value.startsWith(textPrefix)) return undefined;
  const encoded = value.slice(textPrefix.length);
  // Buffer's base64url decoder skips characters it does not know; insist on the canonical form.
  const blob = Buffer.from(encoded, 'base64url');
  if (blob.toString('base64url') !== encoded) return undefined;
  return isCiphertext(blob) ? blob : undefined;
}

/** The parts of a version-1 ciphertext, as views into the caller's bytes. */
export interface ParsedCiphertext {
  /** The authenticated header (magic, format, data key id). */
  header: Uint8Array;
  dataKeyId: string;
  iv: Uint8Array;
  tag: Uint8Array;
  body: Uint8Array;
}

/** Splits a ciphertext; throws `DecryptionError` for anything that is not format 1. */
export function parseCiphertext(blob: Uint8Array): ParsedCiphertext {
  if (blob.length < formatOffset + 1 || blob[0] !== magic0 || blob[1] !== magic1) {
    throw new DecryptionError('not-ciphertext', 'the value is not assistd ciphertext (no magic)');
  }
  const format = blob[formatOffset];
  if (format !== formatV1) {
    throw new DecryptionError(
      'unsupported-format',
      `ciphertext format ${String(format)} is not supported by this version of assistd`,
    );
  }
  if (blob.length < overhead) {
    throw new DecryptionError(
      'truncated',
      `ciphertext of ${blob.length} bytes is shorter than its ${overhead}-byte header and tag`,
    );
  }
  return {
    header: blob.subarray(0, headerLength),
    dataKeyId: dataKeyIdOf(blob),
    iv: blob.subarray(ivOffset, tagOffset),
    tag: blob.subarray(tagOffset, bodyOffset),
    body: blob.subarray(bodyOffset),
  };
}

/** The data key id in a ciphertext's header, as stored (16 hex characters). */
export function dataKeyIdOf(blob: Uint8Array): string {
  return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString(
    'hex',
    dataKeyIdOffset,
    headerLength,
  );
}

/** Header bytes ‖ UTF-8 context: what the tag authenticates besides the ciphertext. */
export function additionalData(header: Uint8Array, context: string): Buffer {
  const aad = Buffer.allocUnsafe(header.length + Buffer.byteLength(context, 'utf8'));
  aad.set(header, 0);
  aad.write(context, header.length, 'utf8');
  return aad;
}

/** Writes magic, format and data key id at the start of `out`. */
export function writeHeader(out: Buffer, dataKeyId: Uint8Array): void {
  out[0] = magic0;
  out[1] = magic1;
  out[formatOffset] = formatV1;
  out.set(dataKeyId, dataKeyIdOffset);
}
