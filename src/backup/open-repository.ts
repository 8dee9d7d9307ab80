import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { openCrypto, type CryptoLogger, type EnvelopeCrypto } from '../security/crypto/index.js';
import { ObjectDataKeys } from './object-data-keys.js';
import { openObjectStore } from './object-store/open.js';
import { BackupRepository } from './repository.js';

export interface OpenedRepository {
  repository: BackupRepository;
  crypto: EnvelopeCrypto;
  close(): Promise<void>;
}

/**
 * The backup repository in the configured object store, its data keys unwrapped with the
 * server's master key (`security.master_key_file`, or `<data_dir>/master.key`). Only the object
 * store and that key file are needed: a restore works on a machine that lost everything else.
 */
export async function openRepository(
  config: Readonly<Config>,
  logger: CryptoLogger,
): Promise<OpenedRepository> {
  const objects = openObjectStore(config);
  const crypto = await openCrypto({
    masterKeyFile: config.security.master_key_file,
    dataDir: config.data_dir,
    store: new ObjectDataKeys(objects),
    logger,
  });
  return {
    repository: new BackupRepository(objects, crypto),
    crypto,
    async close() {
      await crypto.close();
      objects.close?.();
    },
  };
}

/** The folder `backup models` takes: `backup.models_folder`, the model file's folder, or data. */
export function modelsFolder(config: Readonly<Config>): string {
  if (config.backup.models_folder !== undefined) return config.backup.models_folder;
  if (config.model_path !== undefined) {
    return config.model_path.endsWith('.gguf') ? dirname(config.model_path) : config.model_path;
  }
  return join(config.data_dir, 'models');
}
