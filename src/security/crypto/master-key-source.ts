import { createSecretKey } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { keyLength } from './aes-gcm.js';
import { CryptoError } from './errors.js';
import {
  createMasterKeysExclusive,
  fileStamp,
  readMasterKeys,
  type MasterKeys,
} from './master-key-file.js';
import type { CryptoLogger, RandomSource } from './types.js';

/** Where a master key is generated when none is configured: `<dataDir>/master.key`. */
export const generatedKeyFileName = 'master.key';

export interface LoadMasterKeysOptions {
  /** A configured key file; it must exist. Undefined: `<dataDir>/master.key`, made if missing. */
  masterKeyFile: string | undefined;
  dataDir: string;
  allowGroupReadable: boolean;
  /** How many data keys the store already holds: none may be orphaned by a new master key. */
  storedDataKeys: number;
  logger: CryptoLogger;
  random: RandomSource;
}

export interface LoadedMasterKeys {
  path: string;
  keys: MasterKeys;
  /** Identifies the file's content on disk (see `fileStamp`). */
  stamp: string | undefined;
}

/** Reads the configured key file, or the one in the data folder, generating it on first start. */
export async function loadMasterKeys(options: LoadMasterKeysOptions): Promise<LoadedMasterKeys> {
  const readOptions = { allowGroupReadable: options.allowGroupReadable };
  if (options.masterKeyFile !== undefined) {
    const path = options.masterKeyFile;
    const keys = await readMasterKeys(path, readOptions);
    return { path, keys, stamp: await fileStamp(path) };
  }

  const path = join(options.dataDir, generatedKeyFileName);
  if ((await fileStamp(path)) === undefined) {
    if (options.storedDataKeys > 0) {
      // Generating now would strand every stored data key, and the data under them.
      throw new CryptoError(
        'master_key_file',
        `the store holds ${options.storedDataKeys} data keys but ${path} does not exist and no ` +
          'master key file is configured: point ASSISTD_MASTER_KEY_FILE (security.master_key_file) ' +
          'at the key file they were made with',
      );
    }
    const fresh = options.random(keyLength);
    const created = await createMasterKeysExclusive(path, new Map([[1, createSecretKey(fresh)]]));
    fresh.fill(0);
    if (created) {
      options.logger.warn(
        { path },
        'generated a new master key next to the data it protects; anyone who copies the data ' +
          'folder can decrypt it. Move the file to a secret store and set ASSISTD_MASTER_KEY_FILE',
      );
    }
  } else {
    options.logger.info(
      { path },
      'master key read from the data folder; a separate secret store is safer (ASSISTD_MASTER_KEY_FILE)',
    );
  }
  await warnIfOpen(options.dataDir, options.logger);
  const keys = await readMasterKeys(path, readOptions);
  return { path, keys, stamp: await fileStamp(path) };
}

async function warnIfOpen(dataDir: string, logger: CryptoLogger): Promise<void> {
  if (process.platform === 'win32') return;
  const info = await stat(dataDir);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    logger.warn({ path: dataDir, mode }, 'the data folder holding the master key is not mode 0700');
  }
}
