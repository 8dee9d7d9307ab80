import type { KeyObject } from 'node:crypto';
import { createSecretKey } from 'node:crypto';
import { ivLength, keyLength, open, sealInto, tagLength } from './aes-gcm.js';
import type { WrappedDataKey } from './data-key-store.js';
import { CryptoError } from './errors.js';
import type { MasterKeys } from './master-key-file.js';

/** Format byte of `WrappedDataKey.wrapped`. */
const wrapFormatV1 = 0x01;
const ivAt = 1;
const tagAt = ivAt + ivLength;
const keyAt = tagAt + tagLength;
/** 61 bytes. */
export const wrappedLength = keyAt + keyLength;

/** Binds a wrapped key to its id and master version: a record copied onto another id fails. */
function wrapAad(id: string, masterVersion: number): Buffer {
  return Buffer.from(`assistd/data-key/v1:${id}:${masterVersion}`, 'utf8');
}

/** Wraps `dataKey` (32 raw bytes) under master key `version`. */
export function wrapDataKey(
  master: KeyObject,
  version: number,
  id: string,
  dataKey: Uint8Array,
  iv: Uint8Array,
  createdAt: number,
): WrappedDataKey {
  const wrapped = Buffer.alloc(wrappedLength);
  wrapped[0] = wrapFormatV1;
  wrapped.set(iv, ivAt);
  sealInto(master, iv, wrapAad(id, version), dataKey, wrapped, keyAt, tagAt);
  return { id, masterVersion: version, wrapped, createdAt };
}

/**
 * Unwraps a stored data key. Throws `master_key_missing` when the key file lacks its version and
 * `master_key_mismatch` when the tag fails: a different key file, or an altered record.
 */
export function unwrapDataKey(
  masters: MasterKeys,
  record: WrappedDataKey,
  keyFile: string,
): KeyObject {
  const master = masters.keys.get(record.masterVersion);
  if (!master) {
    const held = [...masters.keys.keys()].sort((a, b) => a - b).map((v) => `v${v}`);
    throw new CryptoError(
      'master_key_missing',
      `data key ${record.id} is wrapped by master key v${record.masterVersion}, which ${keyFile} ` +
        `does not hold (it holds ${held.join(', ')}); restore that version to the file`,
    );
  }
  const wrapped = record.wrapped;
  const raw =
    wrapped.length === wrappedLength && wrapped[0] === wrapFormatV1
      ? open(
          master,
          wrapped.subarray(ivAt, tagAt),
          wrapped.subarray(tagAt, keyAt),
          wrapAad(record.id, record.masterVersion),
          wrapped.subarray(keyAt),
        )
      : undefined;
  if (!raw) {
    throw new CryptoError(
      'master_key_mismatch',
      `data key ${record.id} does not decrypt under master key v${record.masterVersion} of ` +
        `${keyFile}: the file holds a different key for that version, or the record was altered`,
    );
  }
  const key = createSecretKey(raw);
  raw.fill(0);
  return key;
}
