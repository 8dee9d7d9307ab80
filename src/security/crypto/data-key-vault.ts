import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../../util/ids.js';
import { ivLength, keyLength } from './aes-gcm.js';
import { dataKeyIdLength } from './ciphertext.js';
import type { DataKeyStore, WrappedDataKey } from './data-key-store.js';
import type { RetireResult, RewrapResult } from './envelope-types.js';
import { CryptoError, DecryptionError } from './errors.js';
import { unwrapDataKey, wrapDataKey } from './key-wrap.js';
import {
  fileStamp,
  readMasterKeys,
  withMasterKeyLock,
  writeMasterKeys,
  type MasterKeys,
  type ReadMasterKeysOptions,
} from './master-key-file.js';
import type { CryptoLogger, RandomSource } from './types.js';

/** A data key made by this process. */
export interface NewDataKey {
  id: string;
  /** The id as the 8 bytes a ciphertext header carries. */
  idBytes: Buffer;
  key: KeyObject;
}

export interface DataKeyVaultParts {
  keyFile: string;
  readOptions: ReadMasterKeysOptions;
  masters: MasterKeys;
  /** `fileStamp` of the key file when `masters` was read. */
  stamp: string | undefined;
  store: DataKeyStore;
  /** Data keys unwrapped at open, by id. */
  dataKeys: Map<string, KeyObject>;
  /** The master version wrapping each of them. */
  wrappedBy: Map<string, number>;
  logger: CryptoLogger;
  clock: Clock;
  random: RandomSource;
}

/**
 * Custody of the keys: the master keys, the data key store, and the unwrapped data keys in
 * memory (as many as the store holds: one per process start, see `createDataKey`). Operations
 * that change keys run one at a time.
 */
export class DataKeyVault {
  private masters: MasterKeys;
  private stamp: string | undefined;
  private readonly loading = new Map<string, Promise<void>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: DataKeyVaultParts) {
    this.masters = parts.masters;
    this.stamp = parts.stamp;
  }

  get keyFile(): string {
    return this.parts.keyFile;
  }

  get masterKeys(): MasterKeys {
    return this.masters;
  }

  /** An unwrapped data key from memory; the hot path's only lookup. */
  dataKey(id: string): KeyObject | undefined {
    return this.parts.dataKeys.get(id);
  }

  get dataKeyCount(): number {
    return this.parts.dataKeys.size;
  }

  /** Data keys in memory per master version that wraps them (keys: version numbers). */
  countByMasterVersion(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const version of this.parts.wrappedBy.values())
      counts[version] = (counts[version] ?? 0) + 1;
    return counts;
  }

  /**
   * A fresh data key, wrapped by the newest master key (the file is re-read first if a rotation
   * in another process changed it) and stored before it is returned. Only this process encrypts
   * with it, and only while it runs: its use count never needs to survive a crash, because no
   * later process continues it.
   */
  createDataKey(): Promise<NewDataKey> {
    return this.serial(async () => {
      await this.refreshMasterKeys();
      const version = this.masters.active;
      const master = this.masters.keys.get(version)!;
      const idBytes = this.randomBytes(dataKeyIdLength);
      const id = idBytes.toString('hex');
      const raw = this.randomBytes(keyLength);
      const iv = this.randomBytes(ivLength);
      const record = wrapDataKey(master, version, id, raw, iv, this.parts.clock());
      const key = createSecretKey(raw);
      raw.fill(0);
      await this.parts.store.insert(record);
      this.parts.dataKeys.set(id, key);
      this.parts.wrappedBy.set(id, version);
      this.parts.logger.info({ dataKey: id, masterVersion: version }, 'stored a new data key');
      return { id, idBytes, key };
    });
  }

  /** Loads a data key another process made after this one opened; concurrent calls share one read. */
  loadDataKey(id: string, context: string): Promise<void> {
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.readDataKey(id, context).finally(() => this.loading.delete(id));
      this.loading.set(id, loading);
    }
    return loading;
  }

  rotateMaster(): Promise<RewrapResult> {
    return this.keyFileOperation(async () => {
      const path = this.parts.keyFile;
      const onDisk = await readMasterKeys(path, this.parts.readOptions);
      const version = onDisk.active + 1;
      const keys = new Map(onDisk.keys);
      const fresh = this.randomBytes(keyLength);
      keys.set(version, createSecretKey(fresh));
      fresh.fill(0);
      try {
        await writeMasterKeys(path, keys);
      } catch (error) {
        throw new CryptoError(
          'master_key_file',
          `cannot add master key v${version} to ${path} (${messageOf(error)}); if the file is ` +
            `read-only, add a "v${version}:<base64 of 32 bytes>" line at its source and run rewrap`,
          { cause: error },
        );
      }
      this.masters = { keys, active: version };
      this.stamp = await fileStamp(path);
      this.parts.logger.info({ path, masterVersion: version }, 'added a master key version');
      return this.rewrapAll();
    });
  }

  rewrap(): Promise<RewrapResult> {
    return this.keyFileOperation(async () => {
      this.masters = await readMasterKeys(this.parts.keyFile, this.parts.readOptions);
      this.stamp = await fileStamp(this.parts.keyFile);
      return this.rewrapAll();
    });
  }

  retireMasterVersions(): Promise<RetireResult> {
    return this.keyFileOperation(async () => {
      const path = this.parts.keyFile;
      const onDisk = await readMasterKeys(path, this.parts.readOptions);
      const stored = await this.parts.store.list();
      const needing = countByVersion(stored.filter((key) => key.masterVersion !== onDisk.active));
      if (needing.size > 0) {
        const list = [...needing].map(([version, count]) => `v${version} (${count})`).join(', ');
        throw new CryptoError(
          'master_key_in_use',
          `cannot retire old master keys: data keys are still wrapped by ${list}; run ` +
            `"assistd crypto rotate-master" (or rewrap) first so all are under v${onDisk.active}`,
        );
      }
      const retired = [...onDisk.keys.keys()]
        .filter((version) => version !== onDisk.active)
        .sort((a, b) => a - b);
      const keys = new Map([[onDisk.active, onDisk.keys.get(onDisk.active)!]]);
      if (retired.length > 0) await writeMasterKeys(path, keys);
      this.masters = { keys, active: onDisk.active };
      this.stamp = await fileStamp(path);
      this.parts.logger.info(
        { path, retired, masterVersion: onDisk.active },
        'retired master keys',
      );
      return { retired, version: onDisk.active };
    });
  }

  /** Resolves once no key operation is queued or running. */
  async flush(): Promise<void> {
    await this.queue;
  }

  /** Waits for key operations, then drops every key from memory. */
  async close(): Promise<void> {
    await this.queue;
    await Promise.allSettled(this.loading.values());
    this.parts.dataKeys.clear();
    this.parts.wrappedBy.clear();
  }

  randomBytes(size: number): Buffer {
    const bytes = this.parts.random(size);
    if (bytes.length !== size) {
      throw new Error(`the random source returned ${bytes.length} bytes instead of ${size}`);
    }
    return bytes;
  }

  /** Re-wraps every stored data key not under the active version, in one store transaction. */
  private async rewrapAll(): Promise<RewrapResult> {
    const version = this.masters.active;
    const master = this.masters.keys.get(version)!;
    const records = await this.parts.store.list();
    const rewrapped: WrappedDataKey[] = [];
    for (const record of records) {
      if (record.masterVersion === version) continue;
      const key =
        this.parts.dataKeys.get(record.id) ??
        unwrapDataKey(this.masters, record, this.parts.keyFile);
      const raw = key.export();
      const iv = this.randomBytes(ivLength);
      const next = wrapDataKey(master, version, record.id, raw, iv, record.createdAt);
      // Prove the new wrapping opens to the same key before the old one is overwritten.
      const check = unwrapDataKey(this.masters, next, this.parts.keyFile).export();
      const same = check.equals(raw);
      raw.fill(0);
      check.fill(0);
      if (!same) throw new Error(`re-wrapping data key ${record.id} did not round-trip`);
      this.parts.dataKeys.set(record.id, key);
      rewrapped.push(next);
    }
    if (rewrapped.length > 0) await this.parts.store.rewrap(rewrapped);
    for (const record of records) this.parts.wrappedBy.set(record.id, version);
    this.parts.logger.info(
      { masterVersion: version, rewrapped: rewrapped.length },
      're-wrapped data keys under the active master key',
    );
    return { rewrapped: rewrapped.length, version };
  }

  private async readDataKey(id: string, context: string): Promise<void> {
    const record = await this.parts.store.get(id);
    if (!record) {
      throw new DecryptionError(
        'unknown-data-key',
        `the ciphertext of ${context} needs data key ${id}, which is not in the store`,
      );
    }
    if (!this.masters.keys.has(record.masterVersion)) await this.refreshMasterKeys();
    this.parts.dataKeys.set(id, unwrapDataKey(this.masters, record, this.parts.keyFile));
    this.parts.wrappedBy.set(id, record.masterVersion);
  }

  /** Re-reads the key file when another process (a rotation) has rewritten it. */
  private async refreshMasterKeys(): Promise<void> {
    const path = this.parts.keyFile;
    const stamp = await fileStamp(path);
    if (stamp === this.stamp) return;
    try {
      this.masters = await readMasterKeys(path, this.parts.readOptions);
      this.stamp = stamp;
      this.parts.logger.info(
        { path, masterVersion: this.masters.active },
        're-read the master key file',
      );
    } catch (error) {
      this.parts.logger.error(
        { path, error: messageOf(error) },
        'the master key file changed and cannot be read; keeping the keys read earlier',
      );
    }
  }

  private keyFileOperation<T>(work: () => Promise<T>): Promise<T> {
    return this.serial(() => withMasterKeyLock(this.parts.keyFile, work));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function countByVersion(keys: readonly WrappedDataKey[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const key of keys) counts.set(key.masterVersion, (counts.get(key.masterVersion) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => a[0] - b[0]));
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
