/**
 * Errors of the crypto module. They are internal (the storage layer and the CLI catch them): the
 * HTTP layer must map them to a generic 5xx and send the message only to the log. Messages name
 * files, versions, key ids and record contexts, never key material or plaintext.
 */

/** Why a master key file or a data key could not be used. */
export type CryptoErrorCode =
  /** The key file is missing, unreadable, or a generated one could not be written. */
  | 'master_key_file'
  /** The key file does not follow the format (see `master-key-file.ts`). */
  | 'master_key_format'
  /** The key file is readable by the group or others. */
  | 'master_key_permissions'
  /** A data key is wrapped by a master key version that the key file no longer holds. */
  | 'master_key_missing'
  /** A data key failed authentication under its master key: wrong key file, or an altered record. */
  | 'master_key_mismatch'
  /** Retiring a master version that data keys still need. */
  | 'master_key_in_use'
  /** Another rotation holds the key file's lock. */
  | 'master_key_locked'
  /** No data key is ready for encryption (the next one could not be stored yet). */
  | 'data_key_unavailable'
  /** Decryption failed; see `DecryptionError.reason`. */
  | 'decryption_failed';

export class CryptoError extends Error {
  override readonly name: string = 'CryptoError';

  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Why a ciphertext was refused. Decryption never returns unauthenticated bytes. */
export type DecryptionFailure =
  /** The value does not start with the ciphertext magic (legacy plaintext, or not ours). */
  | 'not-ciphertext'
  /** A format version this build does not know. */
  | 'unsupported-format'
  /** Too short to hold the header and the 16-byte tag. */
  | 'truncated'
  /** The data key named in the header is not in the store. */
  | 'unknown-data-key'
  /** The tag did not verify: wrong context (another row), or altered bytes. */
  | 'authentication-failed';

export class DecryptionError extends CryptoError {
  override readonly name = 'DecryptionError';

  constructor(
    readonly reason: DecryptionFailure,
    message: string,
  ) {
    super('decryption_failed', message);
  }
}
