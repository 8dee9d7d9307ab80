/**
 * A data key (DEK) as stored: the AES-256 key that encrypts records, itself encrypted ("wrapped")
 * by one master key version. The store holds nothing that decrypts anything without the master
 * key file.
 *
 * Suggested table (SQLite; PostgreSQL uses `bytea` and `bigint`):
 *
 * ```sql
 * CREATE TABLE data_keys (
 *   id             TEXT PRIMARY KEY,   -- 16 lowercase hex characters
 *   master_version INTEGER NOT NULL,   -- 1 … 2^31 − 1
 *   wrapped        BLOB NOT NULL,      -- 61 bytes
 *   created_at     INTEGER NOT NULL    -- milliseconds since the epoch
 * ) STRICT;
 * ```
 */
export interface WrappedDataKey {
  /**
   * 16 lowercase hex characters (8 random bytes). Primary key; the same 8 bytes sit in the
   * header of every ciphertext made with this key. Never changes, not even on rotation.
   */
  readonly id: string;
  /** The master key version that wrapped it; changes when rotation re-wraps it. */
  readonly masterVersion: number;
  /**
   * 61 bytes: `[0x01 format][12 IV][16 tag][32 encrypted key]`, AES-256-GCM under the master key
   * with AAD `assistd/data-key/v1:<id>:<masterVersion>`. Changes on rotation.
   */
  readonly wrapped: Uint8Array;
  /** When it was made, milliseconds since the epoch. Never changes. */
  readonly createdAt: number;
}

/**
 * Where wrapped data keys live: a table beside the data they protect. All methods are called off
 * the hot path (at open, when a new data key is needed, on rotation, and for a key id another
 * replica made after this one opened). Every implementation passes
 * `runDataKeyStoreContract` (`data-key-store.contract.ts`).
 */
export interface DataKeyStore {
  /** Every data key, in any order. */
  list(): Promise<WrappedDataKey[]>;
  /** One data key, or undefined when there is no such id. */
  get(id: string): Promise<WrappedDataKey | undefined>;
  /**
   * Stores a new data key durably before resolving (a ciphertext made with it may be written
   * the moment it resolves). Rejects, storing nothing, when the id exists.
   */
  insert(key: WrappedDataKey): Promise<void>;
  /**
   * Sets `masterVersion` and `wrapped` of existing keys by id, all or nothing (one transaction);
   * `createdAt` is left as it is. Rejects, changing nothing, when any id does not exist.
   */
  rewrap(keys: readonly WrappedDataKey[]): Promise<void>;
  /**
   * Data keys stored, those `list` leaves out as unreadable too (a damaged key object of a
   * backup repository); absent: `list` holds them all. A new master key is never generated
   * while any is stored.
   */
  storedCount?(): Promise<number>;
}

/** In memory, for tests and tools. Holds copies, so callers cannot alter what it stores. */
export class MemoryDataKeyStore implements DataKeyStore {
  private readonly keys = new Map<string, WrappedDataKey>();

  async list(): Promise<WrappedDataKey[]> {
    return [...this.keys.values()].map(copy);
  }

  async get(id: string): Promise<WrappedDataKey | undefined> {
    const key = this.keys.get(id);
    return key && copy(key);
  }

  async insert(key: WrappedDataKey): Promise<void> {
    if (this.keys.has(key.id)) throw new Error(`data key ${key.id} already exists`);
    this.keys.set(key.id, copy(key));
  }

  async rewrap(keys: readonly WrappedDataKey[]): Promise<void> {
    const missing = keys.find((key) => !this.keys.has(key.id));
    if (missing) throw new Error(`data key ${missing.id} does not exist`);
    for (const key of keys) {
      const stored = this.keys.get(key.id)!;
      this.keys.set(key.id, { ...copy(key), createdAt: stored.createdAt });
    }
  }
}

function copy(key: WrappedDataKey): WrappedDataKey {
  return {
    id: key.id,
    masterVersion: key.masterVersion,
    wrapped: Uint8Array.from(key.wrapped),
    createdAt: key.createdAt,
  };
}
