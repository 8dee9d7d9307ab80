import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../util/ids.js';
import type { DataKeyStore } from './data-key-store.js';
import { DataKeyVault } from './data-key-vault.js';
import { defaultMaxUsesPerDataKey, Envelope } from './envelope-crypto.js';
import type { EnvelopeCrypto } from './envelope-types.js';
import { CryptoError } from './errors.js';
import { unwrapDataKey } from './key-wrap.js';
import { loadMasterKeys } from './master-key-source.js';
import { defaultRandom } from './random.js';
import type { CryptoLogger, RandomSource } from './types.js';

export interface OpenCryptoOptions {
  /**
   * The master key file (`ASSISTD_MASTER_KEY_FILE`, `security.master_key_file`); it must exist,
   * mode 0600 or 0400. Undefined: `<dataDir>/master.key`, generated on first start (mode 0600,
   * folder 0700) with a warning, and refused if the store already holds data keys.
   */
  masterKeyFile?: string | undefined;
  dataDir: string;
  store: DataKeyStore;
  logger: CryptoLogger;
  /** Milliseconds since the epoch, for `WrappedDataKey.createdAt`. Default `Date.now`. */
  clock?: Clock;
  /** Default `defaultRandom`: `node:crypto`'s CSPRNG, small draws pooled. */
  random?: RandomSource;
  /**
   * Encryptions per data key before a new one is made. Default 2^31; at most 2^32 (NIST SP
   * 800-38D's limit for random 96-bit IVs). Small values are for tests.
   */
  maxUsesPerDataKey?: number;
  /** Accept a group-readable key file (Kubernetes secrets with `fsGroup`). Default false. */
  allowGroupReadable?: boolean;
  /**
   * Decrypt only: no data key is stored for this process and `encrypt` throws. For readers of a
   * store that others write (`backup list`, `verify`, `restore`: they must leave nothing behind
   * and work with read-only bucket credentials). Default false.
   */
  readOnly?: boolean;
}

/**
 * Loads the master keys, unwraps every stored data key (so a wrong or incomplete key file fails
 * here, at start, not on the first read), and stores a new data key for this process (unless
 * `readOnly`).
 */
export async function openCrypto(options: OpenCryptoOptions): Promise<EnvelopeCrypto> {
  const maxUses = options.maxUsesPerDataKey ?? defaultMaxUsesPerDataKey;
  if (!Number.isSafeInteger(maxUses) || maxUses < 1 || maxUses > 2 ** 32) {
    throw new RangeError('maxUsesPerDataKey must be an integer from 1 to 2^32');
  }
  const random = options.random ?? defaultRandom;
  const allowGroupReadable = options.allowGroupReadable ?? false;
  const records = await options.store.list();
  const loaded = await loadMasterKeys({
    masterKeyFile: options.masterKeyFile,
    dataDir: options.dataDir,
    allowGroupReadable,
    storedDataKeys: (await options.store.storedCount?.()) ?? records.length,
    logger: options.logger,
    random,
  });

  const dataKeys = new Map<string, KeyObject>();
  const wrappedBy = new Map<string, number>();
  const failures: CryptoError[] = [];
  for (const record of records) {
    try {
      dataKeys.set(record.id, unwrapDataKey(loaded.keys, record, loaded.path));
      wrappedBy.set(record.id, record.masterVersion);
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      failures.push(error);
    }
  }
  const [first] = failures;
  if (first) {
    const more = failures.length - 1;
    throw new CryptoError(
      first.code,
      more === 0
        ? first.message
        : `${first.message} (and ${more} more data keys cannot be unwrapped)`,
    );
  }

  const vault = new DataKeyVault({
    keyFile: loaded.path,
    readOptions: { allowGroupReadable },
    masters: loaded.keys,
    stamp: loaded.stamp,
    store: options.store,
    dataKeys,
    wrappedBy,
    logger: options.logger,
    clock: options.clock ?? Date.now,
    random,
  });
  const envelope = new Envelope(vault, options.logger, maxUses);
  if (options.readOnly !== true) await envelope.start();
  const status = envelope.status();
  options.logger.info(
    {
      path: loaded.path,
      masterVersion: status.masterVersion,
      dataKeys: status.dataKeys,
      dataKey: status.activeDataKey,
    },
    'encryption at rest ready',
  );
  return envelope;
}
