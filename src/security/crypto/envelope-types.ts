/** What `rotateMaster` and `rewrap` did. */
export interface RewrapResult {
  /** Data keys re-wrapped (those not already under `version`). */
  rewrapped: number;
  /** The active master version now. */
  version: number;
}

/** What `retireMasterVersions` did. */
export interface RetireResult {
  /** Versions removed from the key file. */
  retired: number[];
  /** The one version left. */
  version: number;
}

/** A snapshot for `assistd crypto status` and health checks, as this process knows it. */
export interface CryptoStatus {
  masterKeyFile: string;
  /** The active (highest) master version. */
  masterVersion: number;
  /** Every version the key file holds, ascending. */
  masterVersions: number[];
  /** Data keys this process has unwrapped or made. */
  dataKeys: number;
  /** How many of those each master version wraps (keys: version numbers). */
  dataKeysByMasterVersion: Record<string, number>;
  /** The data key new ciphertext is made with; null when opened to decrypt only. */
  activeDataKey: string | null;
  /** Encryptions made with it so far (by this process, the only one that uses it). */
  activeDataKeyUses: number;
  maxUsesPerDataKey: number;
  /** Whether the next data key is already stored, ready for the rollover. */
  nextDataKeyReady: boolean;
}

/**
 * Envelope encryption for values at rest. `encrypt`/`decrypt` are synchronous and touch only
 * memory; everything that reads or writes the key file or the store is async.
 */
export interface EnvelopeCrypto {
  /**
   * Encrypts under this process's data key. `context` names the record the value belongs to,
   * such as `messages:<row id>`: decrypting needs the same string, so ciphertext copied into
   * another row fails. Throws `CryptoError('data_key_unavailable')` only if the next data key
   * could not be stored by the time the current one is used up.
   */
  encrypt(plaintext: Uint8Array | string, context: string): Buffer;
  /** `encrypt`, in the text form for TEXT columns (`aenc:` + base64url). */
  encryptText(plaintext: Uint8Array | string, context: string): string;
  /**
   * Decrypts and authenticates, or throws `DecryptionError`; never returns unauthenticated
   * bytes. Knows the data keys that existed at open and those this process made; for a key
   * another replica made later, use `decryptAsync`.
   */
  decrypt(blob: Uint8Array, context: string): Buffer;
  /** `decrypt` of the text form, decoded as UTF-8. */
  decryptText(text: string, context: string): string;
  /** `decrypt`, first loading the data key from the store when this process does not know it. */
  decryptAsync(blob: Uint8Array, context: string): Promise<Buffer>;
  /**
   * Adds a new master key version to the key file (written atomically, mode 0600) and re-wraps
   * every data key under it. No record is re-encrypted. Older versions stay in the file until
   * `retireMasterVersions`.
   */
  rotateMaster(): Promise<RewrapResult>;
  /**
   * Re-reads the key file and re-wraps every data key under its highest version: for a key file
   * the process cannot write (a mounted secret) to which an operator added a version.
   */
  rewrap(): Promise<RewrapResult>;
  /**
   * Removes every version but the active one from the key file. Refuses with
   * `CryptoError('master_key_in_use')` while a stored data key is wrapped by another version.
   * Run it after every replica has restarted (or re-read the file) following a rotation.
   */
  retireMasterVersions(): Promise<RetireResult>;
  status(): CryptoStatus;
  /** Resolves when no key operation (such as storing the next data key) is in progress. */
  flush(): Promise<void>;
  /** Waits for key operations, then forgets every key; later calls throw. */
  close(): Promise<void>;
}
